package config

import (
	"fmt"
	"net"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

// nameRE is what names channels and hooks (they name sessions too).
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,15}$`)

// ChannelKinds are the chat channels WeftOS speaks.
var ChannelKinds = []string{"telegram", "slack", "discord"}

// LoopbackAddr reports whether addr (host:port) binds only loopback.
func LoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c Config) validateGateway(name string) error {
	bad := func(key, format string, args ...any) error {
		return &Error{File: name, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	g := c.Gateway
	if g.Listen != "" {
		if _, _, err := net.SplitHostPort(g.Listen); err != nil {
			return bad("gateway.listen", "%q is not host:port", g.Listen)
		}
		if !LoopbackAddr(g.Listen) && (g.TLSCert == "" || g.TLSKey == "") {
			return bad("gateway.listen", "%q is not a loopback address: a gateway reachable from other machines needs tls_cert and tls_key", g.Listen)
		}
	}
	if (g.TLSCert == "") != (g.TLSKey == "") {
		return bad("gateway.tls_cert", "tls_cert and tls_key go together")
	}
	if g.RatePerMinute < 1 || g.RatePerMinute > 1_000_000 {
		return bad("gateway.rate_per_minute", "%d is outside 1..1000000", g.RatePerMinute)
	}
	if g.SenderRatePerMinute < 1 || g.SenderRatePerMinute > 1_000_000 {
		return bad("gateway.sender_rate_per_minute", "%d is outside 1..1000000", g.SenderRatePerMinute)
	}
	if g.Burst < 1 || g.Burst > 10_000 {
		return bad("gateway.burst", "%d is outside 1..10000", g.Burst)
	}
	if g.KeepAlive.Duration < 10*time.Millisecond {
		return bad("gateway.keepalive", "%s is below 10ms", g.KeepAlive)
	}
	hooks := map[string]bool{}
	for i, h := range g.Hooks {
		key := fmt.Sprintf("gateway.hooks[%d]", i)
		if !nameRE.MatchString(h.Name) || hooks[h.Name] {
			return bad(key+".name", "%q must be a unique name of 1-16 of a-z 0-9 _ -", h.Name)
		}
		hooks[h.Name] = true
		if h.SecretEnv == "" && h.SecretFile == "" {
			return bad(key+".secret_env", "a hook needs its HMAC secret: secret_env or secret_file")
		}
		if h.Window.Duration > time.Hour {
			return bad(key+".window", "%s is above 1h", h.Window)
		}
	}
	chans := map[string]bool{}
	for i, ch := range c.Channels {
		key := fmt.Sprintf("channels[%d]", i)
		if !nameRE.MatchString(ch.Name) || chans[ch.Name] {
			return bad(key+".name", "%q must be a unique name of 1-16 of a-z 0-9 _ -", ch.Name)
		}
		chans[ch.Name] = true
		if !slices.Contains(ChannelKinds, ch.Kind) {
			return bad(key+".kind", "%q is not one of %v", ch.Kind, ChannelKinds)
		}
		if ch.TokenEnv == "" && ch.TokenFile == "" {
			return bad(key+".token_env", "the %s channel needs its bot token: token_env or token_file", ch.Kind)
		}
		if ch.MediaMaxBytes < 0 || ch.MediaMaxBytes > 100<<20 {
			return bad(key+".media_max_bytes", "%d is outside 0..104857600", ch.MediaMaxBytes)
		}
		for _, t := range ch.MediaTypes {
			if _, err := path.Match(t, "x/y"); err != nil || !strings.Contains(t, "/") {
				return bad(key+".media_types", "%q is not a MIME type pattern like text/* or application/pdf", t)
			}
		}
		if ch.WebhookURL != "" {
			switch {
			case ch.Kind != "telegram":
				return bad(key+".webhook_url", "webhook_url is for telegram channels")
			case ch.SigningSecretEnv == "" && ch.SigningSecretFile == "":
				return bad(key+".signing_secret_env", "a telegram webhook needs its secret token: signing_secret_env or signing_secret_file")
			case g.Listen == "":
				return bad(key+".webhook_url", "a telegram webhook is served by the gateway: set [gateway] listen")
			}
		}
		if ch.Kind == "slack" && ch.AppTokenEnv == "" && ch.AppTokenFile == "" && ch.SigningSecretEnv == "" && ch.SigningSecretFile == "" {
			return bad(key+".app_token_env", "a slack channel needs an app-level token (Socket Mode) or a signing secret (Events API)")
		}
	}
	for i, r := range c.Routes {
		key := fmt.Sprintf("routes[%d]", i)
		if r.Agent == "" {
			return bad(key+".agent", "a route needs an agent")
		}
		if r.Channel == "" || !chans[r.Channel] && r.Channel != "*" {
			return bad(key+".channel", "%q names no configured channel", r.Channel)
		}
		if r.Peer != "" && r.Group != "" {
			return bad(key+".peer", "a route binds a peer or a group, not both")
		}
	}
	return nil
}

// validateUI checks [ui]: the control UI listens on loopback only (it is an
// operator's console; remote operators tunnel to it).
func (c Config) validateUI(name string) error {
	bad := func(key, format string, args ...any) error {
		return &Error{File: name, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	u := c.UI
	if u.Listen != "" {
		if _, _, err := net.SplitHostPort(u.Listen); err != nil {
			return bad("ui.listen", "%q is not host:port", u.Listen)
		}
		if !LoopbackAddr(u.Listen) {
			return bad("ui.listen", "%q is not a loopback address: the control UI listens on loopback only (tunnel to reach it from elsewhere)", u.Listen)
		}
	}
	if u.LoginTTL.Duration < time.Second || u.LoginTTL.Duration > time.Hour {
		return bad("ui.login_ttl", "%s is outside 1s..1h", u.LoginTTL)
	}
	if u.SessionTTL.Duration < time.Minute || u.SessionTTL.Duration > 7*24*time.Hour {
		return bad("ui.session_ttl", "%s is outside 1m..168h", u.SessionTTL)
	}
	return nil
}
