package channels

import "github.com/weftos/weftos/internal/config"

// DefaultAgent is the agent a message reaches when nothing binds it.
const DefaultAgent = "default"

// Router binds inbound messages to agents deterministically: a binding for
// the peer wins over one for the group, which wins over one for the
// channel, which wins over the channel's own agent; within each level a
// binding naming the channel wins over a "*" one, and the first written
// wins over later ones.
type Router struct {
	routes   []config.Route
	defaults map[string]string
}

// NewRouter returns a router over the configured routes and channels.
func NewRouter(routes []config.Route, chans []config.Channel) *Router {
	r := &Router{routes: routes, defaults: map[string]string{}}
	for _, c := range chans {
		if c.Agent != "" {
			r.defaults[c.Name] = c.Agent
		}
	}
	return r
}

// Agent returns the agent for a message on channel from peer (in group,
// "" for a direct message).
func (r *Router) Agent(channel, peer, group string) string {
	levels := []func(config.Route) bool{
		func(b config.Route) bool { return b.Peer != "" && b.Peer == peer },
		func(b config.Route) bool { return b.Group != "" && group != "" && b.Group == group },
		func(b config.Route) bool { return b.Peer == "" && b.Group == "" },
	}
	for _, match := range levels {
		for _, ch := range []string{channel, "*"} {
			for _, b := range r.routes {
				if b.Channel == ch && match(b) {
					return b.Agent
				}
			}
		}
	}
	if a := r.defaults[channel]; a != "" {
		return a
	}
	return DefaultAgent
}
