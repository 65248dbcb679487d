package cluster

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftos/weftos/internal/identity"
	"github.com/weftos/weftos/internal/mesh/meshtest"
)

// memberlist's probe, stopped by Shutdown, still waits for its ack timer
// (at most the probe interval times its awareness multiplier).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode"))
}

// events keeps what a node reports.
type events struct {
	mu  sync.Mutex
	evs []recorded
}

type recorded struct {
	kind    string
	payload any
	at      time.Time
}

func (e *events) Event(kind string, payload any) {
	e.mu.Lock()
	e.evs = append(e.evs, recorded{kind, payload, time.Now()})
	e.mu.Unlock()
}

func (e *events) find(f func(recorded) bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.evs {
		if f(r) {
			return true
		}
	}
	return false
}

// clock is a settable clock for token expiry.
type clock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.d) }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.d += d
	c.mu.Unlock()
}

type testNode struct {
	*Node
	home string
	ev   *events
	clk  *clock
	rep  *memState
}

func newNode(t *testing.T) *testNode {
	t.Helper()
	home := t.TempDir()
	id, err := identity.LoadOrCreate(home)
	if err != nil {
		t.Fatal(err)
	}
	tn := &testNode{home: home, ev: &events{}, clk: &clock{}, rep: &memState{}}
	tn.Node = openNode(t, tn, id)
	return tn
}

func openNode(t *testing.T, tn *testNode, id *identity.Identity) *Node {
	t.Helper()
	n, err := Open(context.Background(), Config{StatePath: filepath.Join(tn.home, "cluster.json"), Identity: id, Events: tn.ev, Now: tn.clk.now,
		Head: func() (uint64, string) { return 7, "root" }, Replicated: tn.rep})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	return n
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func peerState(n *Node, id string) string {
	ps, err := n.Peers()
	if err != nil {
		return err.Error()
	}
	for _, p := range ps {
		if p.NodeID == id {
			return p.State
		}
	}
	return "absent"
}

func TestClusterLifecycle(t *testing.T) {
	ctx := context.Background()
	a, b, c := newNode(t), newNode(t), newNode(t)
	if _, _, err := a.Invite(time.Hour); !errors.Is(err, ErrNotInCluster) {
		t.Fatalf("invite outside a cluster: %v", err)
	}
	g, err := a.Init(ctx, "test", "a", "127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Init(ctx, "again", "a", "127.0.0.1:0", ""); !errors.Is(err, ErrInCluster) {
		t.Fatalf("second init: %v", err)
	}
	tok, inv, err := a.Invite(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Cluster != g.Cluster || inv.IssuerID() != a.NodeID() {
		t.Fatalf("invite %+v", inv)
	}
	if _, err := b.Join(ctx, tok, "b", "127.0.0.1:0", ""); err != nil {
		t.Fatal(err)
	}
	// A replayed invite is refused, by the issuer.
	if _, err := c.Join(ctx, tok, "c", "127.0.0.1:0", ""); !errors.Is(err, ErrJoinRefused) || !errors.Is(err, ErrTokenUsed) {
		t.Fatalf("replayed invite: %v", err)
	}
	eventually(t, "a reports the replay", func() bool {
		return a.ev.find(func(r recorded) bool { e, ok := r.payload.(RefusalEvent); return ok && e.Code == codeTokenUsed })
	})
	// An expired one too: the joiner's clock says it is valid, the
	// issuer's that it expired.
	tok2, _, err := a.Invite(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	a.clk.add(2 * time.Minute)
	if _, err := c.Join(ctx, tok2, "c", "127.0.0.1:0", ""); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("expired invite: %v", err)
	}
	c.clk.add(2 * time.Minute)
	if _, err := c.Join(ctx, tok2, "c", "127.0.0.1:0", ""); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("expired invite, checked by the joiner: %v", err)
	}
	// A tampered token does not verify.
	if _, err := ParseInvite(tok[:len(tok)-3] + "AAA"); !errors.Is(err, ErrBadToken) {
		t.Fatalf("tampered token: %v", err)
	}
	tok3, _, err := a.Invite(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Join(ctx, tok3, "c", "127.0.0.1:0", ""); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*testNode{a, b, c} {
		for _, m := range []*testNode{a, b, c} {
			eventually(t, n.NodeID()+" sees "+m.NodeID()+" alive", func() bool { return peerState(n.Node, m.NodeID()) == "alive" })
		}
	}
	eventually(t, "a's RTT and chain head for b", func() bool {
		ps, _ := a.Peers()
		for _, p := range ps {
			if p.NodeID == b.NodeID() {
				return p.RTT > 0 && p.ChainSize == 7 && !p.LastSeen.IsZero()
			}
		}
		return false
	})
	if st := b.Status(); !st.InCluster || st.Cluster != g.Cluster || st.Genesis != a.NodeID() || st.Members != 3 {
		t.Errorf("b's status %+v", st)
	}

	// Removal: a removes c; b learns it and refuses c.
	if _, err := a.Remove(ctx, c.NodeID(), "test"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b learns c's removal", func() bool { _, ok := b.reg.Removed(c.NodeID()); return ok })
	if st := peerState(b.Node, c.NodeID()); st != "removed" {
		t.Errorf("b shows c as %s", st)
	}
	if _, err := c.Request(ctx, b.NodeID(), []byte(`{}`)); err == nil {
		t.Error("a removed node still reaches a member")
	}
	if !b.ev.find(func(r recorded) bool {
		e, ok := r.payload.(MemberEvent)
		return ok && e.State == "removed" && e.Node == c.NodeID()
	}) {
		t.Error("b did not report c's removal")
	}
	if _, err := a.Remove(ctx, c.NodeID(), "again"); !errors.Is(err, ErrRemoved) {
		t.Errorf("removing twice: %v", err)
	}
	if _, err := a.Remove(ctx, "nffffffffffffffff", ""); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("removing a stranger: %v", err)
	}

	// Restart: a's state brings it back into the cluster.
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := identity.Load(a.home)
	if err != nil {
		t.Fatal(err)
	}
	a.Node = openNode(t, a, id)
	if st := a.Status(); !st.InCluster || st.Cluster != g.Cluster || st.Removed != 1 {
		t.Fatalf("after a restart: %+v", st)
	}
	eventually(t, "b sees the restarted a", func() bool {
		return peerState(b.Node, a.NodeID()) == "alive" && peerState(a.Node, b.NodeID()) == "alive"
	})

	// Leave: b leaves; a sees it as left.
	if _, err := b.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a sees b leave", func() bool { return peerState(a.Node, b.NodeID()) == "left" })
	if st := b.Status(); st.InCluster {
		t.Errorf("b is still in a cluster after leaving: %+v", st)
	}
}

// TestStrangerRefused: a node of another cluster, and one with no cluster
// at all, cannot link to a member; the refusals are reported.
func TestStrangerRefused(t *testing.T) {
	ctx := context.Background()
	a, x := newNode(t), newNode(t)
	if _, err := a.Init(ctx, "one", "a", "127.0.0.1:0", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Init(ctx, "other", "x", "127.0.0.1:0", ""); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	addr := a.state.Advertise
	a.mu.Unlock()
	x.mu.Lock()
	run := x.run
	x.mu.Unlock()
	if _, _, err := run.dial(ctx, a.NodeID(), addr, purposeMember); !errors.Is(err, ErrNotMember) {
		t.Fatalf("a member of another cluster linked: %v", err)
	}
	eventually(t, "a reports the refusal", func() bool {
		return a.ev.find(func(r recorded) bool {
			e, ok := r.payload.(RefusalEvent)
			return ok && e.Node == x.NodeID() && e.Code == codeNotMember
		})
	})
}

// TestPartition: with a fault-injecting transport, a node cut off from the
// two others is declared dead on both sides of the cut, and the cluster
// heals when the network does.
func TestPartition(t *testing.T) {
	ctx := context.Background()
	net := meshtest.NewNetwork(1)
	names := []string{"a", "b", "c"}
	nodes := map[string]*testNode{}
	for _, name := range names {
		home := t.TempDir()
		id, err := identity.LoadOrCreate(home)
		if err != nil {
			t.Fatal(err)
		}
		tn := &testNode{home: home, ev: &events{}, clk: &clock{}}
		n, err := Open(ctx, Config{StatePath: filepath.Join(home, "cluster.json"), Identity: id, Events: tn.ev, Transport: net.Transport(name),
			Membership: MembershipConfig{Rejoin: 200 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close(ctx) })
		tn.Node = n
		nodes[name] = tn
	}
	a, b, c := nodes["a"], nodes["b"], nodes["c"]
	if _, err := a.Init(ctx, "p", "a", "127.0.0.1:0", ""); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*testNode{b, c} {
		tok, _, err := a.Invite(time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.Join(ctx, tok, "", "127.0.0.1:0", ""); err != nil {
			t.Fatal(err)
		}
	}
	all := []*testNode{a, b, c}
	converged := func(want map[[2]*testNode]string) func() bool {
		return func() bool {
			for k, st := range want {
				if peerState(k[0].Node, k[1].NodeID()) != st {
					return false
				}
			}
			return true
		}
	}
	alive := map[[2]*testNode]string{}
	for _, x := range all {
		for _, y := range all {
			alive[[2]*testNode{x, y}] = "alive"
		}
	}
	eventually(t, "all alive", converged(alive))

	net.Partition("a", "c")
	net.Partition("b", "c")
	eventually(t, "c dead to a and b, a and b dead to c", converged(map[[2]*testNode]string{
		{a, c}: "dead", {b, c}: "dead", {c, a}: "dead", {c, b}: "dead", {a, b}: "alive", {b, a}: "alive"}))
	if !a.ev.find(func(r recorded) bool {
		e, ok := r.payload.(MemberEvent)
		return ok && e.Node == c.NodeID() && e.State == "dead"
	}) {
		t.Error("a did not report c dead")
	}
	net.Heal()
	eventually(t, "the cluster heals", converged(alive))
}
