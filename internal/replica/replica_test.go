package replica

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/weftos/weftos/internal/cluster"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/identity"
)

// fakeGov is a node's governance: the constitution in force, and the
// committed amendments recorded (or refused, when fail is set).
type fakeGov struct {
	mu       sync.Mutex
	c        *governance.Constitution
	recorded []governance.AmendmentRecord
	fail     error
}

func (g *fakeGov) Constitution() *governance.Constitution {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.c
}

func (g *fakeGov) PutInForce(_ context.Context, rec governance.AmendmentRecord, next *governance.Constitution) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.c.HashHex() == next.HashHex() {
		return nil
	}
	if g.fail != nil {
		return g.fail
	}
	g.recorded = append(g.recorded, rec)
	g.c = next
	return nil
}

// fakeLog is a log that is running, caught up, with a leader.
type fakeLog struct{}

func (fakeLog) Progress() cluster.Progress {
	return cluster.Progress{Running: true, Leader: "n1", CommitIndex: 1, AppliedIdx: 1}
}
func (fakeLog) CatchUp(context.Context) error { return nil }
func (fakeLog) Propose(context.Context, string, []byte) (uint64, error) {
	return 0, errors.New("not in this test")
}

type allow struct{}

func (allow) Check(context.Context, *governance.Request) governance.Decision {
	return governance.Decision{Outcome: governance.Permit}
}

func node(t *testing.T) (ed25519.PrivateKey, string) {
	t.Helper()
	id, err := identity.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return id.Ed25519, id.NodeID
}

func defaultConstitution(t *testing.T) *governance.Constitution {
	t.Helper()
	c, err := governance.Parse("default", []byte(governance.DefaultConstitutionText))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func amendCmd(t *testing.T, index uint64, from string, key ed25519.PrivateKey, a governance.Amendment) cluster.Command {
	t.Helper()
	if err := a.Sign(key); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(amendBody{Amendment: a})
	return cluster.Command{Index: index, Kind: KindAmend, From: from, Body: b}
}

// TestAmendmentsDecideAndAct: the first entry must adopt a constitution;
// an amendment committed is decided against the committed constitution,
// recorded and put in force once; a stale one is rejected on every node
// alike; the gate decides only with the committed constitution in force
// (leaving excepted); a snapshot restores the same state.
func TestAmendmentsDecideAndAct(t *testing.T) {
	ctx := context.Background()
	key, id := node(t)
	base := defaultConstitution(t)
	g := &fakeGov{c: base}
	s := New(Config{StatePath: filepath.Join(t.TempDir(), "replicated.json"), NodeID: id, Key: key, Gov: g})
	s.Attach(fakeLog{})
	gate := Gate{State: s, Inner: allow{}}
	if d := gate.Check(ctx, &governance.Request{Action: "agent.spawn"}); d.Outcome != governance.Deny || d.RuleIDs[0] != "cluster.consensus" {
		t.Fatalf("a node without the cluster's constitution decided %+v", d)
	}
	if d := gate.Check(ctx, &governance.Request{Action: "cluster.leave"}); d.Outcome == governance.Deny {
		t.Fatalf("leaving was denied: %+v", d)
	}

	rule := "[[rule]]\nid = \"no-invites\"\nbranch = \"executive\"\nseverity = \"blocking\"\noutcome = \"deny\"\n" +
		"[rule.when]\nactions = [\"cluster.invite\"]\n"
	add, err := governance.NewRuleAmendmentFromText(base, "rule.toml", []byte(rule))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyReplicated(ctx, amendCmd(t, 1, id, key, add)); !errors.Is(err, cluster.ErrRejected) {
		t.Fatalf("a first entry that adopts nothing: %v", err)
	}
	adopt, err := governance.NewAdoption(base)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyReplicated(ctx, amendCmd(t, 2, id, key, adopt)); err != nil {
		t.Fatal(err)
	}
	if s.Committed() != base.HashHex() || len(g.recorded) != 0 {
		t.Fatalf("adopting what is in force: committed %s, recorded %d", s.Committed(), len(g.recorded))
	}
	if d := gate.Check(ctx, &governance.Request{Action: "agent.spawn"}); d.Outcome == governance.Deny {
		t.Fatalf("a node in step was denied: %+v", d)
	}
	// Signed by another node than the one it came from: rejected.
	otherKey, other := node(t)
	if err := s.ApplyReplicated(ctx, amendCmd(t, 3, other, key, add)); !errors.Is(err, cluster.ErrRejected) {
		t.Fatalf("an amendment signed by another node than its origin: %v", err)
	}
	if err := s.ApplyReplicated(ctx, amendCmd(t, 4, other, otherKey, add)); err != nil {
		t.Fatal(err)
	}
	if len(g.recorded) != 1 || g.recorded[0].Origin != other || g.recorded[0].RaftIndex != 4 || s.Committed() != g.Constitution().HashHex() {
		t.Fatalf("recorded %+v, committed %s, in force %s", g.recorded, s.Committed(), g.Constitution().HashHex())
	}
	// The same amendment again is stale: its base is no longer committed.
	if err := s.ApplyReplicated(ctx, amendCmd(t, 5, other, otherKey, add)); !errors.Is(err, cluster.ErrRejected) {
		t.Fatalf("a stale amendment: %v", err)
	}

	// A snapshot restored on a fresh node gives the same committed
	// constitution, and puts it in force there.
	snap, err := s.SnapshotReplicated()
	if err != nil {
		t.Fatal(err)
	}
	g2 := &fakeGov{c: base}
	s2 := New(Config{StatePath: filepath.Join(t.TempDir(), "replicated.json"), NodeID: id, Key: key, Gov: g2})
	if err := s2.RestoreReplicated(ctx, snap); err != nil {
		t.Fatal(err)
	}
	if s2.Committed() != s.Committed() || g2.Constitution().HashHex() != s.Committed() {
		t.Fatalf("restored: committed %s in force %s, want %s", s2.Committed(), g2.Constitution().HashHex(), s.Committed())
	}
}

// TestActingFailsLeavesNodeBehind: an entry that cannot be recorded here
// leaves the constitution in force behind the committed one, and the gate
// refuses to decide.
func TestActingFailsLeavesNodeBehind(t *testing.T) {
	ctx := context.Background()
	key, id := node(t)
	base := defaultConstitution(t)
	g := &fakeGov{c: base}
	s := New(Config{StatePath: filepath.Join(t.TempDir(), "replicated.json"), NodeID: id, Key: key, Gov: g})
	s.Attach(fakeLog{})
	adopt, _ := governance.NewAdoption(base)
	if err := s.ApplyReplicated(ctx, amendCmd(t, 1, id, key, adopt)); err != nil {
		t.Fatal(err)
	}
	rule := "[[rule]]\nid = \"x\"\nbranch = \"executive\"\nseverity = \"advisory\"\noutcome = \"warn\"\n[rule.when]\nactions = [\"x.y\"]\n"
	add, _ := governance.NewRuleAmendmentFromText(base, "rule.toml", []byte(rule))
	g.fail = errors.New("the chain cannot be written")
	if err := s.ApplyReplicated(ctx, amendCmd(t, 2, id, key, add)); err != nil {
		t.Fatal(err) // committed: decided, though not acted on here
	}
	if why := s.Behind(ctx); why == "" {
		t.Fatal("a node that could not put a committed amendment in force is not behind")
	}
	if d := (Gate{State: s, Inner: allow{}}).Check(ctx, &governance.Request{Action: "agent.spawn"}); d.Outcome != governance.Deny {
		t.Fatalf("decided %+v", d)
	}
}

// TestServiceRegistry: service entries list and withdraw a node's
// services; a malformed one is rejected.
func TestServiceRegistry(t *testing.T) {
	ctx := context.Background()
	s := New(Config{StatePath: filepath.Join(t.TempDir(), "replicated.json"), Gov: &fakeGov{}})
	set := func(from, svc string, serving bool) error {
		b, _ := json.Marshal(serviceBody{Service: svc, Serving: serving})
		return s.ApplyReplicated(ctx, cluster.Command{Kind: KindService, From: from, Body: b})
	}
	v := s.Version()
	if err := set("n1", "echo", true); err != nil {
		t.Fatal(err)
	}
	if err := set("n2", "echo", true); err != nil {
		t.Fatal(err)
	}
	got := s.Serving("echo")
	slices.Sort(got)
	if !slices.Equal(got, []string{"n1", "n2"}) || !s.ServedBy("n1")["echo"] || s.Version() == v {
		t.Fatalf("serving %v", got)
	}
	if err := set("n1", "echo", false); err != nil {
		t.Fatal(err)
	}
	if got := s.Serving("echo"); !slices.Equal(got, []string{"n2"}) {
		t.Fatalf("after n1 withdrew: %v", got)
	}
	if err := set("n1", "", true); !errors.Is(err, cluster.ErrRejected) {
		t.Fatalf("a service entry without a service: %v", err)
	}
	if err := s.ApplyReplicated(ctx, cluster.Command{Kind: "what.ever"}); !errors.Is(err, cluster.ErrRejected) {
		t.Fatalf("an unknown kind: %v", err)
	}
}
