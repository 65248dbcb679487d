//go:build !wasip1 && !js

package cluster

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	a, c := nodes[0], nodes[2]
	if st := a.Consensus(); st.State != "leader" || st.Leader != a.NodeID() {
		t.Fatalf("the genesis node is not the leader: %+v", st)
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
