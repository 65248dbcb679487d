//go:build !nomesh

package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/cluster"
	"github.com/weftos/weftos/internal/durable"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/kernel"
)

// Replicated command kinds (the cluster's Raft log).
const (
	// kindAmend carries a signed constitution amendment (an adoption
	// first: the genesis node's constitution becomes the cluster's).
	kindAmend = "constitution.amend"
	// kindService registers or withdraws a node's service.
	kindService = "service.set"
)

// replicated is the node's part of the cluster's replicated state: the
// committed constitution (the amendments since the last adoption, in log
// order) and the service registry. Raft applies every committed entry here
// on every node in the same order; what is decided (accepted or rejected,
// the resulting constitution) depends only on the entries. Acting on an
// entry locally — recording the amendment on this node's chain and
// putting it in force — happens once per entry (applied persists the last
// index acted on); when it fails, the committed constitution and the one in
// force differ and the gate refuses to decide (consensusGate).
type replicated struct {
	d       *Daemon
	mu      sync.Mutex
	history []amendEntry // since the last adoption
	commit  *governance.Constitution
	// services: service name → node ids serving it.
	services map[string]map[string]bool
	applied  uint64 // the last entry acted on locally (HOME/replicated.json)
	svcVer   uint64 // counts service registry changes
}

type amendEntry struct {
	Index     uint64               `json:"index"`
	From      string               `json:"from"`
	ActionID  string               `json:"action_id,omitempty"`
	Amendment governance.Amendment `json:"amendment"`
}

type amendBody struct {
	ActionID  string               `json:"action_id,omitempty"`
	Amendment governance.Amendment `json:"amendment"`
}

type serviceBody struct {
	Service string `json:"service"`
	Serving bool   `json:"serving"`
}

type replicatedSnapshot struct {
	History  []amendEntry        `json:"history"`
	Services map[string][]string `json:"services,omitempty"`
}

type replicatedState struct {
	Applied uint64 `json:"applied"`
}

func newReplicated(d *Daemon) *replicated {
	r := &replicated{d: d, services: map[string]map[string]bool{}}
	if b, err := os.ReadFile(r.path()); err == nil {
		var st replicatedState
		if err := json.Unmarshal(b, &st); err == nil {
			r.applied = st.Applied
		}
	}
	return r
}

func (r *replicated) path() string { return filepath.Join(r.d.home, homedir.Replicated) }

// reset forgets the cluster's state (the node left its cluster).
func (r *replicated) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.history, r.commit, r.applied = nil, nil, 0
	r.services = map[string]map[string]bool{}
	if err := os.Remove(r.path()); err != nil && !errors.Is(err, os.ErrNotExist) {
		r.d.log.Warn("removing the replicated state", "err", err)
	}
}

// ApplyReplicated implements cluster.Replicated.
func (r *replicated) ApplyReplicated(ctx context.Context, cmd cluster.Command) error {
	switch cmd.Kind {
	case kindAmend:
		var b amendBody
		if err := json.Unmarshal(cmd.Body, &b); err != nil {
			return fmt.Errorf("%w: %w", cluster.ErrRejected, err)
		}
		return r.amend(ctx, amendEntry{Index: cmd.Index, From: cmd.From, ActionID: b.ActionID, Amendment: b.Amendment})
	case kindService:
		var b serviceBody
		if err := json.Unmarshal(cmd.Body, &b); err != nil || b.Service == "" {
			return fmt.Errorf("%w: a service entry needs a service", cluster.ErrRejected)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.svcVer++
		if b.Serving {
			if r.services[b.Service] == nil {
				r.services[b.Service] = map[string]bool{}
			}
			r.services[b.Service][cmd.From] = true
		} else {
			delete(r.services[b.Service], cmd.From)
		}
		return nil
	default:
		return fmt.Errorf("%w: unknown kind %q", cluster.ErrRejected, cmd.Kind)
	}
}

// amend decides an amendment against the committed constitution and, when
// this node has not acted on the entry yet, records it and puts it in
// force here.
func (r *replicated) amend(ctx context.Context, e amendEntry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := e.Amendment
	if r.commit == nil && a.Op != governance.AmendAdopt {
		return fmt.Errorf("%w: the cluster's first amendment must adopt a constitution", cluster.ErrRejected)
	}
	next, err := applyFrom(r.commit, a, e.From)
	if err != nil {
		return fmt.Errorf("%w: %w", cluster.ErrRejected, err)
	}
	if a.Op == governance.AmendAdopt {
		r.history = nil
	}
	r.history = append(r.history, e)
	r.commit = next
	if e.Index <= r.applied {
		return nil // acted on before a restart
	}
	r.act(ctx, e, next)
	return nil
}

// act records a committed amendment on this node's chain and puts it in
// force. A failure is logged and leaves the node behind (the gate
// refuses); the entry is not acted on twice.
func (r *replicated) act(ctx context.Context, e amendEntry, next *governance.Constitution) {
	g := r.d.gov
	g.amendMu.Lock()
	defer g.amendMu.Unlock()
	if g.engine.Constitution().HashHex() != next.HashHex() {
		seq, err := r.d.auth.Record(ctx, "governance", governance.KindAmendment,
			governance.AmendmentRecord{ActionID: e.ActionID, Amendment: e.Amendment, ResultHash: next.HashHex(),
				ResultRevision: next.Revision, Origin: e.From, RaftIndex: e.Index})
		if err != nil {
			r.d.log.Error("a committed amendment could not be recorded: this node is behind the cluster and refuses to decide",
				"index", e.Index, "err", err)
			return
		}
		if err := g.engine.SetConstitution(next); err != nil {
			r.d.log.Error("a committed amendment could not be put in force", "index", e.Index, "err", err)
			return
		}
		if err := durable.WriteFile(g.path, []byte(next.Canonical())); err != nil {
			r.d.log.Error("amendment in force but constitution.toml not saved", "err", err)
		}
		g.setInvalid("")
		r.d.saveGovState(next.HashHex(), seq)
	}
	r.applied = e.Index
	b, _ := json.Marshal(replicatedState{Applied: e.Index})
	if err := durable.WriteFile(r.path(), b); err != nil {
		r.d.log.Warn("saving the replicated state", "err", err)
	}
}

// SnapshotReplicated implements cluster.Replicated.
func (r *replicated) SnapshotReplicated() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := replicatedSnapshot{History: r.history, Services: map[string][]string{}}
	for svc, nodes := range r.services {
		for n := range nodes {
			s.Services[svc] = append(s.Services[svc], n)
		}
	}
	return json.Marshal(s)
}

// RestoreReplicated implements cluster.Replicated: the amendments since
// the last adoption are applied again (and acted on when newer than what
// this node acted on).
func (r *replicated) RestoreReplicated(ctx context.Context, b []byte) error {
	var s replicatedSnapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("daemon: replicated snapshot: %w", err)
	}
	r.mu.Lock()
	r.history, r.commit = nil, nil
	r.services = map[string]map[string]bool{}
	r.svcVer++
	for svc, nodes := range s.Services {
		r.services[svc] = map[string]bool{}
		for _, n := range nodes {
			r.services[svc][n] = true
		}
	}
	r.mu.Unlock()
	for _, e := range s.History {
		if err := r.amend(ctx, e); err != nil {
			return fmt.Errorf("daemon: replicated snapshot, entry %d: %w", e.Index, err)
		}
	}
	return nil
}

// committed returns the committed constitution's hash ("" before the
// first adoption reached this node).
func (r *replicated) committed() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.commit == nil {
		return ""
	}
	return r.commit.HashHex()
}

// version is the service registry's version (resolutions made at another
// are stale).
func (r *replicated) version() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.svcVer
}

// serving returns the nodes the service registry lists for service.
func (r *replicated) serving(service string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for n := range r.services[service] {
		out = append(out, n)
	}
	return out
}

// catchUpTimeout bounds how long a decision waits for this node to apply
// what it knows committed.
const catchUpTimeout = 2 * time.Second

// consensusGate is the gate of a node in a cluster: it decides with the
// committed constitution only. A node that has not applied what it knows
// committed waits (up to catchUpTimeout); one whose constitution in force
// is not the committed one (the adoption has not reached it yet, or acting
// on an entry failed) is denied every decision but leaving the cluster.
type consensusGate struct {
	d     *Daemon
	inner authority.Gate
}

func (g consensusGate) Check(ctx context.Context, req *governance.Request) governance.Decision {
	if reason := g.d.behind(ctx); reason != "" && req.Action != "cluster.leave" {
		c := g.d.gov.engine.Constitution()
		return governance.Decision{Outcome: governance.Deny, Reason: reason, ConstitutionHash: c.HashHex(),
			ConstitutionRevision: c.Revision, RuleIDs: []string{"cluster.consensus"}}
	}
	return g.inner.Check(ctx, req)
}

// behind says why this node may not decide now ("" when it may).
func (d *Daemon) behind(ctx context.Context) string {
	if d.cluster == nil || d.rep == nil {
		return ""
	}
	st := d.cluster.Progress()
	if !st.Running {
		return ""
	}
	if st.Leader != "" && st.AppliedIdx < st.CommitIndex {
		cctx, cancel := context.WithTimeout(ctx, catchUpTimeout)
		err := d.cluster.CatchUp(cctx)
		cancel()
		if err != nil {
			return "this node has not caught up with the cluster's committed log: " + err.Error()
		}
	}
	want := d.rep.committed()
	if want == "" {
		return "this node has not received the cluster's constitution yet"
	}
	if have := d.gov.engine.Constitution().HashHex(); have != want {
		return fmt.Sprintf("the constitution in force (%.16s…) is not the cluster's committed constitution (%.16s…)", have, want)
	}
	return ""
}

// proposeAdoption makes this node's constitution the cluster's: the
// adoption, signed by this node, committed through the replicated log.
func (d *Daemon) proposeAdoption(ctx context.Context) error {
	a, err := governance.NewAdoption(d.gov.engine.Constitution())
	if err != nil {
		return err
	}
	if err := a.Sign(d.id.Ed25519); err != nil {
		return err
	}
	b, err := json.Marshal(amendBody{Amendment: a})
	if err != nil {
		return err
	}
	if _, err := d.cluster.Propose(ctx, kindAmend, b); err != nil {
		return fmt.Errorf("daemon: committing the cluster's constitution: %w", err)
	}
	return nil
}

// inConsensus says whether this node's decisions follow a replicated log.
func (d *Daemon) inConsensus() bool {
	return d.cluster != nil && d.cluster.Progress().Running
}

// commitAmendment commits a permitted amendment through the cluster's log;
// every node (this one before it returns) records and enforces it.
func (d *Daemon) commitAmendment(ctx context.Context, actionID string, a governance.Amendment) (*governance.Constitution, error) {
	b, err := json.Marshal(amendBody{ActionID: actionID, Amendment: a})
	if err != nil {
		return nil, err
	}
	if _, err := d.cluster.Propose(ctx, kindAmend, b); err != nil {
		// A rejection forwarded by the leader arrives as text.
		if errors.Is(err, governance.ErrStaleBase) || strings.Contains(err.Error(), governance.ErrStaleBase.Error()) {
			return nil, fmt.Errorf("%w: %w", authority.ErrConflict, err)
		}
		if errors.Is(err, cluster.ErrRejected) {
			return nil, fmt.Errorf("%w: %w", authority.ErrInput, err)
		}
		return nil, err
	}
	if reason := d.behind(ctx); reason != "" {
		return nil, fmt.Errorf("daemon: the amendment is committed but this node did not put it in force: %s", reason)
	}
	return d.gov.engine.Constitution(), nil
}

// serviceSync is how often the node re-checks that the replicated service
// registry lists exactly the services it serves (besides on every change).
const serviceSync = 2 * time.Second

// replicateServices keeps this node's entries of the replicated service
// registry equal to the services its kernel has: a change is committed
// through the log (a node that was not in consensus, or could not commit,
// catches up at the next pass).
func (d *Daemon) replicateServices(ctx context.Context) {
	wake := make(chan struct{}, 1)
	unsub := d.kernel.Bus().Subscribe(func(ev kernel.Event) {
		if ev.Kind == kernel.EventServiceRegister || ev.Kind == kernel.EventServiceRemove {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	})
	defer unsub()
	t := time.NewTicker(serviceSync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
		if !d.inConsensus() || d.rep.committed() == "" {
			continue
		}
		have := map[string]bool{}
		for _, s := range d.kernel.Services() {
			have[s.Name] = true
		}
		listed := d.rep.servedBy(d.id.NodeID)
		for name := range have {
			if !listed[name] {
				d.proposeService(ctx, name, true)
			}
		}
		for name := range listed {
			if !have[name] {
				d.proposeService(ctx, name, false)
			}
		}
	}
}

func (d *Daemon) proposeService(ctx context.Context, name string, serving bool) {
	b, _ := json.Marshal(serviceBody{Service: name, Serving: serving})
	pctx, cancel := context.WithTimeout(ctx, serviceSync)
	defer cancel()
	if _, err := d.cluster.Propose(pctx, kindService, b); err != nil && ctx.Err() == nil {
		d.log.Info("the service registry could not be updated yet", "service", name, "serving", serving, "err", err)
	}
}

// servedBy returns the services the registry lists for node.
func (r *replicated) servedBy(node string) map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]bool{}
	for svc, nodes := range r.services {
		if nodes[node] {
			out[svc] = true
		}
	}
	return out
}

// joinCatchUp bounds how long a join waits for the cluster's constitution.
const joinCatchUp = 20 * time.Second

// awaitConsensus waits, up to timeout, until this node may decide (it has
// the cluster's committed constitution in force).
func (d *Daemon) awaitConsensus(ctx context.Context, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for d.behind(ctx) != "" {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
