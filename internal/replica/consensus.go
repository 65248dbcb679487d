package replica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/cluster"
	"github.com/weftos/weftos/internal/governance"
)

// Errors of committing an amendment.
var (
	// ErrStale: the amendment was made against a constitution that is no
	// longer the committed one.
	ErrStale = errors.New("replica: the amendment's base is not the committed constitution")
	// ErrRejected: the replicated state refused the amendment.
	ErrRejected = errors.New("replica: the amendment was rejected")
)

// CatchUpTimeout bounds how long a decision waits for this node to apply
// what it knows committed.
const CatchUpTimeout = 2 * time.Second

// Checker decides a request (the governance gate).
type Checker interface {
	Check(ctx context.Context, req *governance.Request) governance.Decision
}

// Gate is the gate of a node in a cluster: it decides with the committed
// constitution only. A node that has not applied what it knows committed
// waits (up to CatchUpTimeout); one whose constitution in force is not the
// committed one (the adoption has not reached it yet, or acting on an
// entry failed) is denied every decision but leaving the cluster.
type Gate struct {
	State *State
	Inner Checker
}

var _ Checker = Gate{}

// Check implements Checker.
func (g Gate) Check(ctx context.Context, req *governance.Request) governance.Decision {
	if reason := g.State.Behind(ctx); reason != "" && req.Action != "cluster.leave" {
		c := g.State.cfg.Gov.Constitution()
		return governance.Decision{Outcome: governance.Deny, Reason: reason, ConstitutionHash: c.HashHex(),
			ConstitutionRevision: c.Revision, RuleIDs: []string{"cluster.consensus"}}
	}
	return g.Inner.Check(ctx, req)
}

// Behind says why this node may not decide now ("" when it may).
func (s *State) Behind(ctx context.Context) string {
	l := s.logOf()
	if l == nil {
		return ""
	}
	st := l.Progress()
	if !st.Running {
		return ""
	}
	if st.Leader != "" && st.AppliedIdx < st.CommitIndex {
		cctx, cancel := context.WithTimeout(ctx, CatchUpTimeout)
		err := l.CatchUp(cctx)
		cancel()
		if err != nil {
			return "this node has not caught up with the cluster's committed log: " + err.Error()
		}
	}
	want := s.Committed()
	if want == "" {
		return "this node has not received the cluster's constitution yet"
	}
	if have := s.cfg.Gov.Constitution().HashHex(); have != want {
		return fmt.Sprintf("the constitution in force (%.16s…) is not the cluster's committed constitution (%.16s…)", have, want)
	}
	return ""
}

// InConsensus says whether this node's decisions follow a replicated log.
func (s *State) InConsensus() bool {
	l := s.logOf()
	return l != nil && l.Progress().Running
}

// ProposeAdoption makes this node's constitution the cluster's: the
// adoption, signed by this node, committed through the replicated log.
func (s *State) ProposeAdoption(ctx context.Context) error {
	l := s.logOf()
	if l == nil {
		return errNoLog
	}
	a, err := governance.NewAdoption(s.cfg.Gov.Constitution())
	if err != nil {
		return err
	}
	if err := a.Sign(s.cfg.Key); err != nil {
		return err
	}
	b, err := json.Marshal(amendBody{Amendment: a})
	if err != nil {
		return err
	}
	if _, err := l.Propose(ctx, KindAmend, b); err != nil {
		return fmt.Errorf("replica: committing the cluster's constitution: %w", err)
	}
	return nil
}

var errNoLog = errors.New("replica: this node is in no cluster")

// CommitAmendment commits a permitted amendment through the cluster's
// log; every node (this one before it returns) records and enforces it.
// A stale amendment fails with ErrStale, a rejected one with ErrRejected.
func (s *State) CommitAmendment(ctx context.Context, actionID string, a governance.Amendment) (*governance.Constitution, error) {
	l := s.logOf()
	if l == nil {
		return nil, errNoLog
	}
	b, err := json.Marshal(amendBody{ActionID: actionID, Amendment: a})
	if err != nil {
		return nil, err
	}
	if _, err := l.Propose(ctx, KindAmend, b); err != nil {
		// A rejection forwarded by the leader arrives as text.
		if errors.Is(err, governance.ErrStaleBase) || strings.Contains(err.Error(), governance.ErrStaleBase.Error()) {
			return nil, fmt.Errorf("%w: %w", ErrStale, err)
		}
		if errors.Is(err, cluster.ErrRejected) {
			return nil, fmt.Errorf("%w: %w", ErrRejected, err)
		}
		return nil, err
	}
	if reason := s.Behind(ctx); reason != "" {
		return nil, fmt.Errorf("replica: the amendment is committed but this node did not put it in force: %s", reason)
	}
	return s.cfg.Gov.Constitution(), nil
}

// AwaitConsensus waits, up to timeout, until this node may decide (it has
// the cluster's committed constitution in force).
func (s *State) AwaitConsensus(ctx context.Context, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for s.Behind(ctx) != "" {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
