//go:build !wasip1 && !js

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Proposals are applied once. A proposal carries an id (its Nonce, drawn
// by the proposer) that every attempt of it repeats: a follower whose
// forwarded proposal went unanswered (the link closed, the leader stepped
// down or was declared dead) cannot know whether it committed, so it
// proposes it again, and the log may then hold it twice. The state machine
// remembers the proposals it applied, by (proposer, id), and answers a
// repeat with the first outcome instead of applying it again. What it
// remembers is part of the replicated state (the same on every node, in
// its snapshots) and is forgotten by the log's own clock: an entry
// proposalWindow older, by the leader's append time, than the entry being
// applied (or the oldest, past proposalCap). Propose retries for at most
// proposeRetryWindow, well within it.
const (
	proposalWindow = 10 * time.Minute
	proposalCap    = 1 << 16
)

type proposalKey struct {
	from  string
	nonce uint64
}

// appliedProposal is a proposal the state machine applied (or rejected).
type appliedProposal struct {
	From  string `json:"from"`
	Nonce uint64 `json:"nonce"`
	Index uint64 `json:"index"`
	At    int64  `json:"at"` // the leader's append time, Unix ns (0: unknown)
	Err   string `json:"err,omitempty"`
}

// raftFSM hands committed commands to the node. It knows how far its
// state is applied (through), which Raft's AppliedIndex does not say:
// that is the last index handed to the state machine's queue, applied or
// not.
type raftFSM struct {
	n   *Node
	ctx context.Context
	mu  sync.Mutex
	// applied is closed (and replaced) after every applied command.
	applied chan struct{}
	// through: every command at or below it is applied to the state.
	through uint64
	waiting map[proposalKey][]chan fsmResult // proposals waiting, by id
	// The proposals applied, in log order (applied on Raft's FSM
	// goroutine; under mu for the snapshot).
	seen  map[proposalKey]*appliedProposal
	order []*appliedProposal
}

type fsmResult struct {
	index uint64
	err   error
}

func newRaftFSM(n *Node, ctx context.Context) *raftFSM {
	return &raftFSM{n: n, ctx: ctx, applied: make(chan struct{}), seen: map[proposalKey]*appliedProposal{}}
}

// expect registers a wait for the outcome of proposal (from, nonce).
func (f *raftFSM) expect(from string, nonce uint64) (<-chan fsmResult, func()) {
	k := proposalKey{from, nonce}
	ch := make(chan fsmResult, 1)
	f.mu.Lock()
	if f.waiting == nil {
		f.waiting = map[proposalKey][]chan fsmResult{}
	}
	f.waiting[k] = append(f.waiting[k], ch)
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		ws := f.waiting[k]
		for i, w := range ws {
			if w == ch {
				ws = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(f.waiting, k)
		} else {
			f.waiting[k] = ws
		}
	}
}

// deliver hands an outcome to every attempt of the proposal waiting here
// (each channel holds one outcome and gets only one).
func (f *raftFSM) deliver(k proposalKey, index uint64, err error) {
	if k.nonce == 0 {
		return
	}
	f.mu.Lock()
	ws := f.waiting[k]
	delete(f.waiting, k)
	f.mu.Unlock()
	for _, ch := range ws {
		ch <- fsmResult{index, err}
	}
}

func (f *raftFSM) appliedCh() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

// done records that every command up to index is applied and wakes the
// waiters.
func (f *raftFSM) done(index uint64) {
	f.mu.Lock()
	f.through = max(f.through, index)
	close(f.applied)
	f.applied = make(chan struct{})
	f.mu.Unlock()
}

func (f *raftFSM) appliedThrough() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.through
}

// advance raises through to index when the entries between hold no
// command (Raft's own entries: no-ops, barriers, configuration).
func (f *raftFSM) advance(index uint64) {
	f.mu.Lock()
	f.through = max(f.through, index)
	f.mu.Unlock()
}

func (f *raftFSM) Apply(l *raft.Log) any {
	defer f.done(l.Index)
	var cmd Command
	if err := json.Unmarshal(l.Data, &cmd); err != nil {
		return fmt.Errorf("%w: entry %d: %w", ErrRejected, l.Index, err)
	}
	cmd.Index = l.Index
	k := proposalKey{cmd.From, cmd.Nonce}
	f.forget(l.AppendedAt)
	if p := f.seen[k]; p != nil && cmd.Nonce != 0 {
		// The same proposal committed again (its proposer retried after
		// an unanswered attempt): the first outcome stands.
		f.n.log.Info("cluster: a proposal committed a second time is not applied again",
			"index", l.Index, "first", p.Index, "kind", cmd.Kind, "from", cmd.From)
		err := p.err()
		f.deliver(k, p.Index, err)
		return err
	}
	err := f.n.applyCommand(f.ctx, cmd)
	if err != nil {
		f.n.log.Warn("cluster: a replicated command was not applied", "index", l.Index, "kind", cmd.Kind, "err", err)
	}
	if cmd.Nonce != 0 {
		p := &appliedProposal{From: cmd.From, Nonce: cmd.Nonce, Index: l.Index}
		if !l.AppendedAt.IsZero() {
			p.At = l.AppendedAt.UnixNano()
		}
		if err != nil {
			p.Err = err.Error()
		}
		f.remember(p)
	}
	f.deliver(k, l.Index, err)
	return err
}

// err is the outcome a repeat of the proposal gets.
func (p *appliedProposal) err() error {
	if p.Err == "" {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrRejected, strings.TrimPrefix(p.Err, ErrRejected.Error()+": "))
}

func (f *raftFSM) remember(p *appliedProposal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen[proposalKey{p.From, p.Nonce}] = p
	f.order = append(f.order, p)
}

// forget drops the proposals older than the window at now (the applied
// entry's append time; the same on every node), then the oldest past the
// cap.
func (f *raftFSM) forget(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	drop := 0
	for drop < len(f.order) {
		p := f.order[drop]
		old := !now.IsZero() && p.At != 0 && now.UnixNano()-p.At > int64(proposalWindow)
		if !old && len(f.order)-drop <= proposalCap {
			break
		}
		if !old {
			f.n.log.Warn("cluster: more proposals than remembered: a proposal retried now could be applied twice",
				"index", p.Index, "cap", proposalCap)
		}
		delete(f.seen, proposalKey{p.From, p.Nonce})
		drop++
	}
	if drop > 0 {
		clear(f.order[:drop])
		f.order = f.order[drop:]
	}
}

// fsmState is a snapshot: the node's replicated state and the proposals
// applied.
type fsmState struct {
	Version   int               `json:"v"`
	State     []byte            `json:"state,omitempty"`
	Proposals []appliedProposal `json:"proposals,omitempty"`
}

const fsmStateVersion = 1

func (f *raftFSM) Snapshot() (raft.FSMSnapshot, error) {
	s := fsmState{Version: fsmStateVersion}
	if f.n.cfg.Replicated != nil {
		b, err := f.n.cfg.Replicated.SnapshotReplicated()
		if err != nil {
			return nil, err
		}
		s.State = b
	}
	f.mu.Lock()
	for _, p := range f.order {
		s.Proposals = append(s.Proposals, *p)
	}
	f.mu.Unlock()
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return fsmSnapshot(b), nil
}

// Restore replaces the state with a snapshot's. A snapshot that is not an
// fsmState (one taken before proposals were remembered) is the node's
// state alone.
func (f *raftFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	var s fsmState
	if json.Unmarshal(b, &s) != nil || s.Version != fsmStateVersion {
		s = fsmState{State: b}
	}
	f.mu.Lock()
	f.seen, f.order = map[proposalKey]*appliedProposal{}, nil
	for i := range s.Proposals {
		p := &s.Proposals[i]
		f.seen[proposalKey{p.From, p.Nonce}] = p
		f.order = append(f.order, p)
	}
	f.mu.Unlock()
	var rerr error
	if f.n.cfg.Replicated != nil {
		rerr = f.n.cfg.Replicated.RestoreReplicated(f.ctx, s.State)
	}
	f.done(0)
	return rerr
}

type fsmSnapshot []byte

func (s fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (fsmSnapshot) Release() {}

// applied returns the index through which this node's state is applied:
// Raft's applied index once the state machine has taken every command up
// to it. Raft's own entries (no-ops, barriers, configuration) never reach
// the state machine; they are read from the log store to be skipped.
func (e *raftEngine) applied() uint64 {
	handed := e.r.AppliedIndex()
	through := e.fsm.appliedThrough()
	if through >= handed {
		return through
	}
	// A snapshot restored (at boot, or sent by the leader) holds every
	// command up to its index.
	from := through
	if s, err := parseUint(e.r.Stats()["last_snapshot_index"]); err == nil && s > from && s <= handed {
		from = s
	}
	first, err := e.store.FirstIndex()
	if err != nil {
		return through
	}
	i := max(from+1, first) // below first: compacted into a snapshot, applied
	for ; i <= handed; i++ {
		var l raft.Log
		if err := e.store.GetLog(i, &l); err != nil {
			break // cannot tell: not counted as applied
		}
		if l.Type == raft.LogCommand {
			break // handed to the state machine, not applied yet
		}
	}
	e.fsm.advance(i - 1)
	return e.fsm.appliedThrough()
}

func parseUint(s string) (uint64, error) {
	var v uint64
	_, err := fmt.Sscan(s, &v)
	return v, err
}
