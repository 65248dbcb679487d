//go:build !wasip1 && !js

package cluster

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/identity"
)

// memState is a replicated state for tests: the values set, in order; a
// value "bad" is rejected.
type memState struct {
	mu     sync.Mutex
	values []string
	froms  []string
	// hold: a value whose application waits until the channel closes
	// (set before the node applies it).
	hold map[string]chan struct{}
}

func (m *memState) ApplyReplicated(_ context.Context, cmd Command) error {
	var v string
	if err := json.Unmarshal(cmd.Body, &v); err != nil {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	if v == "bad" {
		return fmt.Errorf("%w: bad value", ErrRejected)
	}
	m.mu.Lock()
	hold := m.hold[v]
	m.mu.Unlock()
	if hold != nil {
		<-hold
	}
	m.mu.Lock()
	m.values = append(m.values, v)
	m.froms = append(m.froms, cmd.From)
	m.mu.Unlock()
	return nil
}

func (m *memState) SnapshotReplicated() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return json.Marshal(m.values)
}

func (m *memState) RestoreReplicated(_ context.Context, b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return json.Unmarshal(b, &m.values)
}

func (m *memState) get() ([]string, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.values), slices.Clone(m.froms)
}

// threeNodes forms a cluster of three whose Raft configuration holds all
// three as voters.
func threeNodes(t *testing.T) []*testNode {
	t.Helper()
	ctx := context.Background()
	nodes := []*testNode{newNode(t), newNode(t), newNode(t)}
	if _, err := nodes[0].Init(ctx, "raft", "a", "127.0.0.1:0", ""); err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes[1:] {
		tok, _, err := nodes[0].Invite(time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.Join(ctx, tok, string(rune('b'+i)), "127.0.0.1:0", ""); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "three voters", func() bool { return len(nodes[0].Consensus().Voters) == 3 })
	return nodes
}

func TestConsensusReplicates(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nodes := threeNodes(t)
	// c is a follower (the genesis node leads, unless a loaded machine
	// made it step down meanwhile).
	c := nodes[2]
	if c.Consensus().State == "leader" {
		c = nodes[1]
	}
	// Proposed on a follower: forwarded to the leader, committed, applied
	// everywhere in the same order, and applied on the proposer before
	// Propose returns.
	for _, v := range []string{"one", "two"} {
		b, _ := json.Marshal(v)
		if _, err := c.Propose(ctx, "test.set", b); err != nil {
			t.Fatal(err)
		}
	}
	if vals, froms := c.rep.get(); !slices.Equal(vals, []string{"one", "two"}) || froms[0] != c.NodeID() {
		t.Fatalf("the proposer applied %v from %v", vals, froms)
	}
	for _, n := range nodes {
		eventually(t, n.NodeID()+" applies both", func() bool {
			vals, froms := n.rep.get()
			return slices.Equal(vals, []string{"one", "two"}) && froms[1] == c.NodeID()
		})
	}
	// A command the state rejects is the proposer's error, on every node
	// alike (and changes nothing).
	if _, err := c.Propose(ctx, "test.set", []byte(`"bad"`)); !errors.Is(err, ErrRejected) {
		t.Fatalf("a rejected command: %v", err)
	}
	if err := nodes[1].CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if vals, _ := nodes[1].rep.get(); len(vals) != 2 {
		t.Fatalf("b applied %v", vals)
	}
}

// A follower that was down catches up when it comes back: Raft replays
// what it missed.
func TestConsensusCatchUpAfterRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodes := threeNodes(t)
	a, b := nodes[0], nodes[1]
	id := b.Node.cfg.Identity
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Propose(ctx, "test.set", []byte(`"while-away"`)); err != nil {
		t.Fatal(err)
	}
	b.rep = &memState{}
	b.Node = openNode(t, b, id)
	if err := b.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if vals, _ := b.rep.get(); !slices.Contains(vals, "while-away") {
		t.Fatalf("the restarted node has %v", vals)
	}
}

// The member registry is replicated: an admission committed through the
// log reaches every member's registry without any gossip carrying it, and
// one that does not verify is rejected everywhere.
func TestConsensusMemberRegistry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nodes := threeNodes(t)
	a := nodes[0]
	newcomer, err := identity.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	adm, err := Admit(a.key, a.reg.Cluster(), Key(newcomer.Ed25519.Public().(ed25519.PublicKey)), "d", time.Now().Unix(), ID{1})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal([]Admission{adm})
	if _, err := nodes[2].Propose(ctx, kindMemberAdmit, b); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		eventually(t, n.NodeID()+" lists the newcomer", func() bool { _, ok := n.cur.Load().Member(newcomer.NodeID); return ok })
	}
	forged := adm
	forged.Name = "forged"
	b, _ = json.Marshal([]Admission{forged})
	if _, err := nodes[1].Propose(ctx, kindMemberAdmit, b); !errors.Is(err, ErrRejected) {
		t.Fatalf("a forged admission: %v", err)
	}
	rm := NewRemoval(a.key, a.reg.Cluster(), adm.Node, time.Now().Unix(), "test")
	b, _ = json.Marshal(rm)
	if _, err := nodes[1].Propose(ctx, kindMemberRemove, b); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		eventually(t, n.NodeID()+" lists the removal", func() bool { _, ok := n.cur.Load().Removed(newcomer.NodeID); return ok })
	}
}

// raftEngineOf is n's Raft engine.
func raftEngineOf(t *testing.T, n *testNode) *raftEngine {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	e, ok := n.run.cons.(*raftEngine)
	if !ok {
		t.Fatal("no raft engine")
	}
	return e
}

// TestConsensusAppliedMeansApplied: a node whose state machine has not
// applied what Raft handed it is not caught up. Raft's AppliedIndex counts
// the entries handed to the state machine's queue; under load the state
// lags behind it, and a node that took it for its state's progress
// answered a proposal (and let its gate decide) before the state held the
// entry: an amendment committed on a follower came back with the
// constitution from before it.
func TestConsensusAppliedMeansApplied(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nodes := threeNodes(t)
	a, c := nodes[0], nodes[2]
	release := make(chan struct{})
	c.rep.mu.Lock()
	c.rep.hold = map[string]chan struct{}{"slow": release}
	c.rep.mu.Unlock()
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	if _, err := a.Propose(ctx, "test.set", []byte(`"slow"`)); err != nil {
		t.Fatal(err)
	}
	idx, err := a.Propose(ctx, "test.set", []byte(`"after"`))
	if err != nil {
		t.Fatal(err)
	}
	// c's Raft has handed both entries to its state machine, which is
	// still applying the first.
	ce := raftEngineOf(t, c)
	eventually(t, "c's Raft hands the entries over", func() bool { return ce.r.AppliedIndex() >= idx })
	if p := c.Progress(); p.AppliedIdx >= idx {
		t.Fatalf("c counts entry %d applied while its state machine is still applying an earlier one: %+v", idx, p)
	}
	short, stop := context.WithTimeout(ctx, 300*time.Millisecond)
	err = c.CatchUp(short)
	stop()
	if err == nil {
		t.Fatal("c is caught up while its state machine has not applied what is committed")
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Propose(ctx, "test.set", []byte(`"mine"`))
		done <- err
	}()
	close(release)
	released = true
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Propose returned: c's state holds its entry and everything before.
	if vals, _ := c.rep.get(); !slices.Equal(vals, []string{"slow", "after", "mine"}) {
		t.Fatalf("c's state when its proposal returned: %v", vals)
	}
	if err := c.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if p := c.Progress(); p.AppliedIdx < p.CommitIndex {
		t.Fatalf("caught up, yet %+v", p)
	}
}

// TestConsensusProposalAppliedOnce: a proposal committed twice (its
// proposer got no answer — the link closed, the leader stepped down — and
// sent it again) is applied once; both attempts get the first outcome.
// Before proposals carried an id of the proposer's, a follower's
// amendment retried this way was applied, then rejected as stale, and the
// operator was told it failed.
func TestConsensusProposalAppliedOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nodes := threeNodes(t)
	a, c := nodes[0], nodes[2]
	// c sends the same proposal to the leader twice, as Propose does
	// after an attempt that went unanswered.
	c.mu.Lock()
	run := c.run
	c.mu.Unlock()
	send := func(v string, nonce uint64) (uint64, error) {
		cmd := Command{Kind: "test.set", From: c.NodeID(), Body: json.RawMessage(v), Nonce: nonce}
		for {
			idx, err := c.proposeOnce(ctx, run, cmd)
			if !errors.Is(err, ErrNoLeader) {
				return idx, err
			}
			// Unanswered, or no leader now (a loaded machine): sent
			// again, as Propose does.
			select {
			case <-ctx.Done():
				return 0, err
			case <-time.After(proposeRetry):
			}
		}
	}
	first, err := send(`"once"`, 41)
	if err != nil {
		t.Fatal(err)
	}
	again, err := send(`"once"`, 41)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Fatalf("the repeat answered index %d, the proposal committed at %d", again, first)
	}
	// The same value under another id is another proposal.
	if _, err := send(`"once"`, 43); err != nil {
		t.Fatal(err)
	}
	// A rejected proposal repeated is rejected alike.
	if _, err := send(`"bad"`, 45); !errors.Is(err, ErrRejected) && !strings.Contains(fmt.Sprint(err), "bad value") {
		t.Fatalf("a rejected proposal: %v", err)
	}
	if _, err := send(`"bad"`, 45); err == nil || !strings.Contains(err.Error(), "bad value") {
		t.Fatalf("its repeat: %v", err)
	}
	for _, n := range nodes {
		if err := n.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
		if vals, _ := n.rep.get(); !slices.Equal(vals, []string{"once", "once"}) {
			t.Fatalf("%s applied %v", n.NodeID(), vals)
		}
	}
	// The proposals applied survive a snapshot: a node restored from it
	// still applies a repeat once.
	e := raftEngineOf(t, a)
	snap, err := e.fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored := newRaftFSM(&Node{log: a.log}, ctx) // no state of its own to restore into
	if err := restored.Restore(io.NopCloser(bytes.NewReader(snap.(fsmSnapshot)))); err != nil {
		t.Fatal(err)
	}
	if p := restored.seen[proposalKey{c.NodeID(), 41}]; p == nil || p.Index != first {
		t.Fatalf("the restored state machine forgot proposal 41: %+v", p)
	}
}
