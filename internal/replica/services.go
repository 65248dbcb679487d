package replica

import (
	"context"
	"encoding/json"
	"time"
)

// ServiceSync is how often the node re-checks that the replicated service
// registry lists exactly the services it serves (besides on every change).
const ServiceSync = 2 * time.Second

// ReplicateServices keeps this node's entries of the replicated service
// registry equal to the services its kernel has, until ctx ends: a change
// is committed through the log (a node that was not in consensus, or
// could not commit, catches up at the next pass).
func (s *State) ReplicateServices(ctx context.Context) {
	wake := make(chan struct{}, 1)
	stop := s.cfg.Services.OnChange(func() {
		select {
		case wake <- struct{}{}:
		default: // a pass is already due: it reads the services then
		}
	})
	defer stop()
	t := time.NewTicker(ServiceSync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
		if !s.InConsensus() || s.Committed() == "" {
			continue
		}
		have := map[string]bool{}
		for _, name := range s.cfg.Services.ServiceNames() {
			have[name] = true
		}
		listed := s.ServedBy(s.cfg.NodeID)
		for name := range have {
			if !listed[name] {
				s.proposeService(ctx, name, true)
			}
		}
		for name := range listed {
			if !have[name] {
				s.proposeService(ctx, name, false)
			}
		}
	}
}

func (s *State) proposeService(ctx context.Context, name string, serving bool) {
	l := s.logOf()
	if l == nil {
		return
	}
	b, _ := json.Marshal(serviceBody{Service: name, Serving: serving})
	pctx, cancel := context.WithTimeout(ctx, ServiceSync)
	defer cancel()
	if _, err := l.Propose(pctx, KindService, b); err != nil && ctx.Err() == nil {
		s.log.Info("the service registry could not be updated yet", "service", name, "serving", serving, "err", err)
	}
}
