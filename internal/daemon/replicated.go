//go:build !nomesh

package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/replica"
)

// The cluster's replicated state (the committed constitution, the service
// registry) lives in internal/replica; this file wires it to the node's
// governance, kernel and cluster.

// newReplicated opens the node's replicated state (its cluster's log is
// attached once the cluster is open).
func newReplicated(d *Daemon) *replica.State {
	return replica.New(replica.Config{StatePath: filepath.Join(d.home, homedir.Replicated), NodeID: d.id.NodeID, Key: d.id.Ed25519,
		Gov: d.gov, Services: kernelServices{d.kernel}, Log: d.log})
}

var (
	_ replica.Governance = (*gov)(nil)
	_ replica.Services   = kernelServices{}
)

// kernelServices are the kernel's services as the replicated registry
// follows them.
type kernelServices struct{ k *kernel.Kernel }

func (s kernelServices) ServiceNames() []string {
	var out []string
	for _, svc := range s.k.Services() {
		out = append(out, svc.Name)
	}
	return out
}

func (s kernelServices) OnChange(f func()) func() {
	return s.k.Bus().Subscribe(func(ev kernel.Event) {
		if ev.Kind == kernel.EventServiceRegister || ev.Kind == kernel.EventServiceRemove {
			f()
		}
	})
}

// consensusGate is the gate of a node in a cluster (replica.Gate): it
// decides with the committed constitution only.
type consensusGate struct {
	d     *Daemon
	inner authority.Gate
}

func (g consensusGate) Check(ctx context.Context, req *governance.Request) governance.Decision {
	if g.d.rep == nil {
		return g.inner.Check(ctx, req)
	}
	return replica.Gate{State: g.d.rep, Inner: g.inner}.Check(ctx, req)
}

// behind says why this node may not decide now ("" when it may).
func (d *Daemon) behind(ctx context.Context) string {
	if d.rep == nil {
		return ""
	}
	return d.rep.Behind(ctx)
}

// inConsensus says whether this node's decisions follow a replicated log.
func (d *Daemon) inConsensus() bool { return d.rep != nil && d.rep.InConsensus() }

// commitAmendment commits a permitted amendment through the cluster's log;
// every node (this one before it returns) records and enforces it.
func (d *Daemon) commitAmendment(ctx context.Context, actionID string, a governance.Amendment) (*governance.Constitution, error) {
	c, err := d.rep.CommitAmendment(ctx, actionID, a)
	switch {
	case errors.Is(err, replica.ErrStale):
		return nil, fmt.Errorf("%w: %w", authority.ErrConflict, err)
	case errors.Is(err, replica.ErrRejected):
		return nil, fmt.Errorf("%w: %w", authority.ErrInput, err)
	}
	return c, err
}

// replicateServices keeps this node's entries of the replicated service
// registry equal to the services its kernel has.
func (d *Daemon) replicateServices(ctx context.Context) { d.rep.ReplicateServices(ctx) }

// joinCatchUp bounds how long a join waits for the cluster's constitution.
const joinCatchUp = 20 * time.Second
