package remoteipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/weftos/weftos/internal/cluster"
	"github.com/weftos/weftos/internal/kernel"
)

type replicaSet struct {
	nodes []string
	// idem: every replica declares the method idempotent, so a call it
	// left unanswered may be retried on another.
	idem    bool
	expires int64 // unix nanoseconds
	next    int
	version uint64 // the replicated service registry's version it was resolved at
}

// breaker is a per-node circuit breaker: after breakerFailures
// consecutive failures the node is skipped for breakerOpen, then tried
// again (half open).
type breaker struct {
	fails int
	until int64 // unix nanoseconds
}

// Service implements kernel.Remote: the nodes serving the service
// (asked, and remembered for replicaTTL) are tried round-robin, skipping
// nodes whose breaker is open, through cluster.RequestAny: a call not
// sent goes to the next replica; a call sent and left unanswered (the
// node died, its link broke) fails at once with cluster.ErrNoReply,
// unless every replica declares the method idempotent — then it is
// retried once on a surviving replica. Each failover is recorded
// (ipc.failover).
func (r *Remote) Service(ctx context.Context, env *kernel.Envelope) (*kernel.Envelope, error) {
	nodes, idem := r.Replicas(ctx, env.Target.Service, env.Target.Method)
	if len(nodes) == 0 {
		return nil, fmt.Errorf("%w: %q on any node of the cluster", kernel.ErrUnknownService, env.Target.Service)
	}
	body, err := json.Marshal(Msg{Op: "service", Env: env})
	if err != nil {
		return nil, err
	}
	node, b, err := r.cluster.RequestAny(ctx, nodes, cluster.Call{Body: body, Idempotent: idem, What: env.Target.String(), Outcome: r.outcome})
	rep, err := decodeReply(node, b, err)
	return rep.Env, err
}

// Replicas returns the replicas of a service's method in the order to try
// them (the next in the round, nodes behind an open breaker last), and
// whether every one declares the method idempotent.
func (r *Remote) Replicas(ctx context.Context, name, method string) ([]string, bool) {
	key := name + "." + method
	now := r.now().UnixNano()
	r.mu.Lock()
	rs := r.replicas[key]
	r.mu.Unlock()
	version := r.registry.Version()
	if rs == nil || now > rs.expires || rs.version != version {
		rs = &replicaSet{expires: now + int64(replicaTTL), version: version, idem: method != ""}
		ps, err := r.cluster.Peers()
		if err != nil {
			return nil, false
		}
		// The replicated service registry names the nodes serving it
		// (each still asked for the method); without consensus, or before
		// a registration has committed, every live peer is asked.
		var listed map[string]bool
		if nodes := r.registry.Serving(name); len(nodes) > 0 {
			listed = map[string]bool{}
			for _, n := range nodes {
				listed[n] = true
			}
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, p := range ps {
			if p.Self || (p.State != "alive" && p.State != "suspect") || (listed != nil && !listed[p.NodeID]) {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				qctx, cancel := context.WithTimeout(ctx, spreadTimeout)
				defer cancel()
				if rep, err := r.Request(qctx, p.NodeID, Msg{Op: "resolve", Name: name, Meth: method}); err == nil && rep.Has {
					mu.Lock()
					rs.nodes = append(rs.nodes, p.NodeID)
					rs.idem = rs.idem && rep.Idempotent
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		r.mu.Lock()
		if old := r.replicas[key]; old != nil {
			rs.next = old.next
		}
		r.replicas[key] = rs
		r.mu.Unlock()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(rs.nodes)
	var order, open []string
	for i := range n {
		node := rs.nodes[(rs.next+i)%n]
		if b := r.breakers[node]; b != nil && now < b.until {
			open = append(open, node)
			continue
		}
		order = append(order, node)
	}
	rs.next++
	return append(order, open...), rs.idem // nodes behind an open breaker only as a last resort
}

// outcome feeds a service call's attempt to the node's breaker: an
// unreachable node counts a failure, anything else (an answer, even an
// error) closes it.
func (r *Remote) outcome(node string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil || !errors.Is(err, cluster.ErrUnreachable) {
		delete(r.breakers, node)
		return
	}
	b := r.breakers[node]
	if b == nil {
		b = &breaker{}
		r.breakers[node] = b
	}
	b.fails++
	if b.fails >= breakerFailures {
		b.until = r.now().UnixNano() + int64(breakerOpen)
	}
}
