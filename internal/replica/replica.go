// Package replica is a node's part of its cluster's Raft-replicated state:
// the committed constitution (the amendments since the last adoption, in
// log order) and the service registry. Raft (internal/cluster) applies
// every committed entry here on every node in the same order; what is
// decided — accepted or rejected, the resulting constitution — depends
// only on the entries. Acting on an entry locally (recording the amendment
// on this node's chain and putting it in force) goes through the node's
// governance, once per entry; when it fails, the committed constitution
// and the one in force differ and the consensus gate refuses to decide.
//
// The package sees the rest of the node through the small interfaces it
// declares: Governance (the constitution in force, and putting a committed
// amendment in force: durably recorded first), Log (the cluster's
// replicated log) and Services (the kernel's services). The daemon wires
// them.
package replica

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/weftos/weftos/internal/cluster"
	"github.com/weftos/weftos/internal/durable"
	"github.com/weftos/weftos/internal/governance"
)

// Replicated command kinds (the cluster's Raft log).
const (
	// KindAmend carries a signed constitution amendment (an adoption
	// first: the genesis node's constitution becomes the cluster's).
	KindAmend = "constitution.amend"
	// KindService registers or withdraws a node's service.
	KindService = "service.set"
)

// Governance is the node's governance as the replicated state acts on it.
type Governance interface {
	// Constitution is the constitution in force.
	Constitution() *governance.Constitution
	// PutInForce durably records a committed amendment (rec, its result
	// next) on the node's chain, then puts next in force. It serialises
	// with the node's own amendments, and does nothing when next is
	// already in force. An error leaves next not in force.
	PutInForce(ctx context.Context, rec governance.AmendmentRecord, next *governance.Constitution) error
}

// Log is the cluster's replicated log (internal/cluster's Node).
type Log interface {
	Progress() cluster.Progress
	CatchUp(ctx context.Context) error
	Propose(ctx context.Context, kind string, body []byte) (uint64, error)
}

// Services are the kernel's services, as the registry follows them.
type Services interface {
	// ServiceNames are the services registered on this node.
	ServiceNames() []string
	// OnChange calls f whenever a service registers or is removed, until
	// the returned stop is called.
	OnChange(f func()) (stop func())
}

var _ Log = (*cluster.Node)(nil)

// Config is what a State needs.
type Config struct {
	StatePath string             // where the last entry acted on is kept (HOME/replicated.json)
	NodeID    string             // this node's id
	Key       ed25519.PrivateKey // signs this node's adoption
	Gov       Governance
	Services  Services
	Log       *slog.Logger
}

// State is the node's replicated state machine (cluster.Replicated).
type State struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	history []amendEntry // since the last adoption
	commit  *governance.Constitution
	// services: service name → node ids serving it.
	services map[string]map[string]bool
	applied  uint64 // the last entry acted on locally (StatePath)
	svcVer   uint64 // counts service registry changes

	lmu     sync.Mutex
	replLog Log // nil until Attach
}

var _ cluster.Replicated = (*State)(nil)

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

type snapshot struct {
	History  []amendEntry        `json:"history"`
	Services map[string][]string `json:"services,omitempty"`
}

type savedState struct {
	Applied uint64 `json:"applied"`
}

// New returns the state, knowing from StatePath which entry it last acted
// on.
func New(cfg Config) *State {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &State{cfg: cfg, log: cfg.Log, services: map[string]map[string]bool{}}
	if b, err := os.ReadFile(cfg.StatePath); err == nil {
		var st savedState
		if err := json.Unmarshal(b, &st); err == nil {
			s.applied = st.Applied
		}
	}
	return s
}

// Attach gives the state the cluster's log, once the node's cluster is
// open.
func (s *State) Attach(l Log) {
	s.lmu.Lock()
	s.replLog = l
	s.lmu.Unlock()
}

func (s *State) logOf() Log {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	return s.replLog
}

// Reset forgets the cluster's state (the node left its cluster, or joins
// another).
func (s *State) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.history, s.commit, s.applied = nil, nil, 0
	s.services = map[string]map[string]bool{}
	if err := os.Remove(s.cfg.StatePath); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("removing the replicated state", "err", err)
	}
}

// ApplyReplicated implements cluster.Replicated.
func (s *State) ApplyReplicated(ctx context.Context, cmd cluster.Command) error {
	switch cmd.Kind {
	case KindAmend:
		var b amendBody
		if err := json.Unmarshal(cmd.Body, &b); err != nil {
			return fmt.Errorf("%w: %w", cluster.ErrRejected, err)
		}
		return s.amend(ctx, amendEntry{Index: cmd.Index, From: cmd.From, ActionID: b.ActionID, Amendment: b.Amendment})
	case KindService:
		var b serviceBody
		if err := json.Unmarshal(cmd.Body, &b); err != nil || b.Service == "" {
			return fmt.Errorf("%w: a service entry needs a service", cluster.ErrRejected)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.svcVer++
		if b.Serving {
			if s.services[b.Service] == nil {
				s.services[b.Service] = map[string]bool{}
			}
			s.services[b.Service][cmd.From] = true
		} else {
			delete(s.services[b.Service], cmd.From)
		}
		return nil
	default:
		return fmt.Errorf("%w: unknown kind %q", cluster.ErrRejected, cmd.Kind)
	}
}

// amend decides an amendment against the committed constitution and, when
// this node has not acted on the entry yet, records it and puts it in
// force here.
func (s *State) amend(ctx context.Context, e amendEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := e.Amendment
	if s.commit == nil && a.Op != governance.AmendAdopt {
		return fmt.Errorf("%w: the cluster's first amendment must adopt a constitution", cluster.ErrRejected)
	}
	next, err := governance.ApplyFrom(s.commit, a, e.From)
	if err != nil {
		return fmt.Errorf("%w: %w", cluster.ErrRejected, err)
	}
	if a.Op == governance.AmendAdopt {
		s.history = nil
	}
	s.history = append(s.history, e)
	s.commit = next
	if e.Index <= s.applied {
		return nil // acted on before a restart
	}
	s.act(ctx, e, next)
	return nil
}

// act records a committed amendment on this node's chain and puts it in
// force. A failure is logged and leaves the node behind (the gate
// refuses); the entry is not acted on twice.
func (s *State) act(ctx context.Context, e amendEntry, next *governance.Constitution) {
	rec := governance.AmendmentRecord{ActionID: e.ActionID, Amendment: e.Amendment, ResultHash: next.HashHex(),
		ResultRevision: next.Revision, Origin: e.From, RaftIndex: e.Index}
	if err := s.cfg.Gov.PutInForce(ctx, rec, next); err != nil {
		s.log.Error("a committed amendment could not be put in force: this node is behind the cluster and refuses to decide",
			"index", e.Index, "err", err)
		return
	}
	s.applied = e.Index
	b, _ := json.Marshal(savedState{Applied: e.Index})
	if err := durable.WriteFile(s.cfg.StatePath, b); err != nil {
		s.log.Warn("saving the replicated state", "err", err)
	}
}

// SnapshotReplicated implements cluster.Replicated.
func (s *State) SnapshotReplicated() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := snapshot{History: s.history, Services: map[string][]string{}}
	for svc, nodes := range s.services {
		for n := range nodes {
			out.Services[svc] = append(out.Services[svc], n)
		}
	}
	return json.Marshal(out)
}

// RestoreReplicated implements cluster.Replicated: the amendments since
// the last adoption are applied again (and acted on when newer than what
// this node acted on).
func (s *State) RestoreReplicated(ctx context.Context, b []byte) error {
	var in snapshot
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("replica: snapshot: %w", err)
	}
	s.mu.Lock()
	s.history, s.commit = nil, nil
	s.services = map[string]map[string]bool{}
	s.svcVer++
	for svc, nodes := range in.Services {
		s.services[svc] = map[string]bool{}
		for _, n := range nodes {
			s.services[svc][n] = true
		}
	}
	s.mu.Unlock()
	for _, e := range in.History {
		if err := s.amend(ctx, e); err != nil {
			return fmt.Errorf("replica: snapshot, entry %d: %w", e.Index, err)
		}
	}
	return nil
}

// Committed returns the committed constitution's hash ("" before the
// first adoption reached this node).
func (s *State) Committed() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.commit == nil {
		return ""
	}
	return s.commit.HashHex()
}

// Version is the service registry's version (resolutions made at another
// are stale).
func (s *State) Version() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.svcVer
}

// Serving returns the nodes the service registry lists for service.
func (s *State) Serving(service string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.services[service] {
		out = append(out, n)
	}
	return out
}

// ServedBy returns the services the registry lists for node.
func (s *State) ServedBy(node string) map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]bool{}
	for svc, nodes := range s.services {
		if nodes[node] {
			out[svc] = true
		}
	}
	return out
}
