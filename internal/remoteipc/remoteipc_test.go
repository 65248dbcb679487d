package remoteipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/cluster"
	"github.com/weftos/weftos/internal/kernel"
)

// fakeKernel is a node's kernel: services by name and method, the
// envelopes it was handed, a process table.
type fakeKernel struct {
	mu       sync.Mutex
	services map[string]bool // "name.method" → idempotent
	inbound  []*kernel.Envelope
	procs    []kernel.Info
	fail     error
}

func (k *fakeKernel) Inbound(_ context.Context, origin string, env *kernel.Envelope) (*kernel.Envelope, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fail != nil {
		return nil, k.fail
	}
	k.inbound = append(k.inbound, env)
	return &kernel.Envelope{ID: env.ID + 1000, Target: kernel.ToProcess(1), Payload: kernel.Text("from " + origin)}, nil
}

func (k *fakeKernel) HasService(name, method string) bool {
	_, ok := k.services[name+"."+method]
	return ok
}

func (k *fakeKernel) MethodIdempotent(name, method string) bool { return k.services[name+"."+method] }

func (k *fakeKernel) PS(exited bool) []kernel.Info {
	if exited {
		return append(slices.Clone(k.procs), kernel.Info{PID: 99, Name: "gone", State: kernel.StateExited})
	}
	return k.procs
}

func (k *fakeKernel) received() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.inbound)
}

// fakeMesh routes requests between the Remotes of fake nodes in process,
// with per-node reachability.
type fakeMesh struct {
	mu       sync.Mutex
	nodes    map[string]*Remote
	down     map[string]error // node → the error a request to it gets
	anyDown  map[string]error // node → the error a service call (RequestAny) to it gets
	states   map[string]string
	sent     map[string]int // node → requests sent to it
	anyOrder [][]string     // the node orders RequestAny was given
}

type meshView struct {
	m    *fakeMesh
	self string
}

func (v meshView) RequestWith(ctx context.Context, node string, body []byte, _ cluster.RequestOptions) ([]byte, error) {
	v.m.mu.Lock()
	r, ok := v.m.nodes[node]
	err := v.m.down[node]
	v.m.sent[node]++
	v.m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, cluster.ErrUnknownNode
	}
	b, err := r.Serve(ctx, v.self, body)
	var re *cluster.RemoteError
	if errors.As(err, &re) {
		re.Node = node
	}
	return b, err
}

// RequestAny tries nodes in order, the next one when a request is not
// sent (the cluster's own failover is tested in internal/cluster).
func (v meshView) RequestAny(ctx context.Context, nodes []string, call cluster.Call) (string, []byte, error) {
	v.m.mu.Lock()
	v.m.anyOrder = append(v.m.anyOrder, slices.Clone(nodes))
	v.m.mu.Unlock()
	var err error
	for _, n := range nodes {
		var b []byte
		v.m.mu.Lock()
		err = v.m.anyDown[n]
		v.m.mu.Unlock()
		if err == nil {
			b, err = v.RequestWith(ctx, n, call.Body, cluster.RequestOptions{})
		}
		if call.Outcome != nil {
			call.Outcome(n, err)
		}
		if err == nil || !errors.Is(err, cluster.ErrNotSent) {
			return n, b, err
		}
	}
	return nodes[len(nodes)-1], nil, err
}

func (v meshView) Peers() ([]cluster.PeerInfo, error) {
	v.m.mu.Lock()
	defer v.m.mu.Unlock()
	var out []cluster.PeerInfo
	for n := range v.m.nodes {
		st := v.m.states[n]
		if st == "" {
			st = "alive"
		}
		out = append(out, cluster.PeerInfo{NodeID: n, Name: "name-" + n, State: st, Self: n == v.self})
	}
	slices.SortFunc(out, func(a, b cluster.PeerInfo) int {
		if a.NodeID < b.NodeID {
			return -1
		}
		return 1
	})
	return out, nil
}

type fakeRegistry struct {
	version uint64
	serving map[string][]string
}

func (r *fakeRegistry) Version() uint64                 { return r.version }
func (r *fakeRegistry) Serving(service string) []string { return r.serving[service] }

type spawnCall struct {
	node string
	spec kernel.SpawnSpec
}

type fakeSpawner struct {
	mu    sync.Mutex
	calls []spawnCall
}

func (s *fakeSpawner) SpawnFor(_ context.Context, node string, spec kernel.SpawnSpec) (kernel.PID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, spawnCall{node, spec})
	return kernel.PID(100 + len(s.calls)), nil
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type node struct {
	r       *Remote
	k       *fakeKernel
	spawner *fakeSpawner
}

// newMesh builds nodes a, b, c, … sharing a registry and a clock.
func newMesh(t *testing.T, names ...string) (*fakeMesh, map[string]*node, *fakeRegistry, *fakeClock) {
	t.Helper()
	m := &fakeMesh{nodes: map[string]*Remote{}, down: map[string]error{}, anyDown: map[string]error{}, states: map[string]string{}, sent: map[string]int{}}
	reg := &fakeRegistry{serving: map[string][]string{}}
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	out := map[string]*node{}
	for _, n := range names {
		k := &fakeKernel{services: map[string]bool{}}
		sp := &fakeSpawner{}
		r := New(Options{Cluster: meshView{m, n}, Kernel: k, Registry: reg, Spawner: sp, DefaultCaps: kernel.Capabilities{CanIPC: true},
			Now: clk.Now})
		m.nodes[n] = r
		out[n] = &node{r: r, k: k, spawner: sp}
	}
	return m, out, reg, clk
}

// msg is a message for process 3.
func msg(id uint64) *kernel.Envelope {
	return &kernel.Envelope{ID: id, Target: kernel.ToProcess(3), Payload: kernel.Text("hi")}
}

func notSent(node string) error {
	return &cluster.RequestError{Node: node, Sent: false, Reason: cluster.ReasonNoLink, Err: errors.New("no route")}
}

// TestDeliver: a message for a process on another node reaches that
// node's kernel with the inner target, and its reply comes back marked
// with its origin.
func TestDeliver(t *testing.T) {
	_, ns, _, _ := newMesh(t, "a", "b")
	env := &kernel.Envelope{ID: 7, Target: kernel.Target{Kind: kernel.TargetRemoteNode, Node: "b", Inner: &kernel.Target{Kind: kernel.TargetProcess, PID: 3}}, Payload: kernel.Text("hi")}
	rep, err := ns["a"].r.Deliver(context.Background(), "b", env)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Origin != "b" || rep.ID != 1007 {
		t.Fatalf("reply %+v", rep)
	}
	got := ns["b"].k.inbound
	if len(got) != 1 || got[0].Target.Kind != kernel.TargetProcess || got[0].Target.PID != 3 {
		t.Fatalf("b's kernel got %+v", got)
	}
	if env.Target.Kind != kernel.TargetRemoteNode {
		t.Fatal("Deliver changed the caller's envelope")
	}
}

// TestRemoteErrors: an error from the other node's kernel comes back as
// its sentinel; one only the outer layers know keeps their code; a node in
// no cluster is mesh_not_enabled; an answer that does not decode is
// unreachable.
func TestRemoteErrors(t *testing.T) {
	m, ns, _, _ := newMesh(t, "a", "b")
	ns["b"].k.fail = fmt.Errorf("%w: pid 3", kernel.ErrUnknownPID)
	_, err := ns["a"].r.Deliver(context.Background(), "b", msg(1))
	if !errors.Is(err, kernel.ErrUnknownPID) {
		t.Fatalf("kernel error: %v", err)
	}
	outer := errors.New("the chain is unavailable")
	ns["b"].r.codes = func(err error) string {
		if errors.Is(err, outer) {
			return "chain_unavailable"
		}
		return ""
	}
	ns["b"].k.fail = outer
	_, err = ns["a"].r.Deliver(context.Background(), "b", msg(2))
	var re *cluster.RemoteError
	if !errors.As(err, &re) || re.Code != "chain_unavailable" {
		t.Fatalf("outer error: %v", err)
	}
	m.down["b"] = fmt.Errorf("wrapped: %w", cluster.ErrNotInCluster)
	if _, err := ns["a"].r.Deliver(context.Background(), "b", msg(3)); !errors.Is(err, kernel.ErrMeshNotEnabled) {
		t.Fatalf("not in cluster: %v", err)
	}
	if _, err := decodeReply("b", []byte("{not json"), nil); !errors.Is(err, cluster.ErrUnreachable) {
		t.Fatalf("garbage answer: %v", err)
	}
}

// TestServeRefusesBadInput: what is not a message, a message without its
// envelope and an unknown operation are refused with codes.
func TestServeRefusesBadInput(t *testing.T) {
	_, ns, _, _ := newMesh(t, "a")
	r := ns["a"].r
	for _, c := range []struct {
		body string
		code string
	}{
		{`nope`, "invalid"},
		{`{"op":"deliver"}`, "invalid"},
		{`{"op":"spread"}`, "invalid"},
		{`{"op":"launch"}`, kernel.Code(kernel.ErrInvalid)},
		{`{"op":"spawn"}`, kernel.Code(kernel.ErrInvalid)},
	} {
		_, err := r.Serve(context.Background(), "x", []byte(c.body))
		var re *cluster.RemoteError
		if !errors.As(err, &re) || re.Code != c.code {
			t.Errorf("%s: %v, want code %s", c.body, err, c.code)
		}
	}
	if _, err := r.Serve(context.Background(), "x", []byte(`{"op":"checkpoint"}`)); !errors.Is(err, ErrNoChain) {
		t.Errorf("checkpoint without a chain: %v", err)
	}
	if ns["a"].k.received() != 0 {
		t.Error("a refused message reached the kernel")
	}
}

// TestSpreadDedup: a topic message reaches every live member once, even
// when sent again; a member not alive is skipped; one unreachable is
// tried twice and reported.
func TestSpreadDedup(t *testing.T) {
	m, ns, _, _ := newMesh(t, "a", "b", "c", "d")
	m.states["d"] = "dead"
	m.down["c"] = notSent("c")
	env := &kernel.Envelope{ID: 42, Target: kernel.ToTopic("news"), Payload: kernel.Text("hi")}
	failed := ns["a"].r.Spread(context.Background(), env)
	if len(failed) != 1 || failed["c"] == nil {
		t.Fatalf("failed %v, want c", failed)
	}
	if m.sent["c"] != 2 || m.sent["d"] != 0 || m.sent["b"] != 1 {
		t.Fatalf("sent %v", m.sent)
	}
	if failed := ns["a"].r.Spread(context.Background(), env); len(failed) != 1 {
		t.Fatalf("again: %v", failed)
	}
	if n := ns["b"].k.received(); n != 1 {
		t.Fatalf("b's kernel got the message %d times", n)
	}
	// Another origin's message with the same id is another message.
	if failed := ns["c"].r.Spread(context.Background(), env); len(failed) != 0 {
		t.Fatalf("from c: %v", failed)
	}
	if n := ns["b"].k.received(); n != 2 {
		t.Fatalf("b's kernel got %d messages, want 2", n)
	}
}

// TestFreshForgetsTheOldest: the dedup window keeps the last dedupSize
// messages.
func TestFreshForgetsTheOldest(t *testing.T) {
	r := New(Options{})
	for i := range uint64(dedupSize) {
		if !r.fresh("a", i) {
			t.Fatalf("message %d not fresh", i)
		}
	}
	if r.fresh("a", 0) || r.fresh("a", dedupSize-1) {
		t.Fatal("a repeat within the window is fresh")
	}
	if !r.fresh("a", dedupSize) {
		t.Fatal("a new message is not fresh")
	}
	if !r.fresh("a", 0) {
		t.Fatal("the oldest message is still remembered past the window")
	}
	if len(r.seen) != dedupSize || len(r.order) != dedupSize {
		t.Fatalf("window holds %d/%d", len(r.seen), len(r.order))
	}
}

// TestReplicasRoundRobin: the replicas of a method are the live members
// serving it, taken in turn; the method is idempotent only when every
// replica says so; the registry narrows who is asked and a new registry
// version resolves again.
func TestReplicasRoundRobin(t *testing.T) {
	m, ns, reg, clk := newMesh(t, "a", "b", "c", "d")
	for _, n := range []string{"b", "c"} {
		ns[n].k.services["echo.ping"] = true
		ns[n].k.services["echo.set"] = n == "b"
	}
	m.states["d"] = "left"
	ns["d"].k.services["echo.ping"] = true
	ctx := context.Background()
	first, idem := ns["a"].r.Replicas(ctx, "echo", "ping")
	if !idem || len(first) != 2 || !slices.Contains(first, "b") || !slices.Contains(first, "c") {
		t.Fatalf("replicas %v idempotent %v", first, idem)
	}
	second, _ := ns["a"].r.Replicas(ctx, "echo", "ping")
	if second[0] != first[1] || second[1] != first[0] {
		t.Fatalf("not round-robin: %v then %v", first, second)
	}
	if _, idem := ns["a"].r.Replicas(ctx, "echo", "set"); idem {
		t.Fatal("set is idempotent on b only, yet the set is")
	}
	if nodes, _ := ns["a"].r.Replicas(ctx, "nothing", ""); len(nodes) != 0 {
		t.Fatalf("an unknown service has replicas %v", nodes)
	}
	// Within the TTL the set is remembered: c stops serving, unseen.
	delete(ns["c"].k.services, "echo.ping")
	if nodes, _ := ns["a"].r.Replicas(ctx, "echo", "ping"); len(nodes) != 2 {
		t.Fatalf("within the TTL: %v", nodes)
	}
	clk.Advance(replicaTTL + time.Millisecond)
	if nodes, _ := ns["a"].r.Replicas(ctx, "echo", "ping"); !slices.Equal(nodes, []string{"b"}) {
		t.Fatalf("after the TTL: %v", nodes)
	}
	// The committed registry names c alone: b is not asked, c (serving
	// again) is, at once since the version moved.
	ns["c"].k.services["echo.ping"] = true
	reg.serving["echo"] = []string{"c"}
	reg.version++
	if nodes, _ := ns["a"].r.Replicas(ctx, "echo", "ping"); !slices.Equal(nodes, []string{"c"}) {
		t.Fatalf("registry names c: %v", nodes)
	}
}

// TestServiceBreaker: a replica unreachable breakerFailures times in a row
// is tried last for breakerOpen, then first again in its turn; the call
// itself goes to a replica that answers.
func TestServiceBreaker(t *testing.T) {
	m, ns, _, clk := newMesh(t, "a", "b", "c")
	for _, n := range []string{"b", "c"} {
		ns[n].k.services["echo.ping"] = false
	}
	m.anyDown["b"] = notSent("b") // b resolves, but its service calls are not sent
	ctx := context.Background()
	env := &kernel.Envelope{ID: 1, Target: kernel.Target{Kind: kernel.TargetServiceMethod, Service: "echo", Method: "ping"}, Payload: kernel.Text("hi")}
	for i := range 2 * breakerFailures { // b comes first in half of them
		rep, err := ns["a"].r.Service(ctx, env)
		if err != nil || rep.Origin != "c" {
			t.Fatalf("call %d: %v %+v", i, err, rep)
		}
	}
	// b failed every time it came first: by now its breaker is
	// open, so it is last whatever the turn.
	for range 2 {
		nodes, _ := ns["a"].r.Replicas(ctx, "echo", "ping")
		if !slices.Equal(nodes, []string{"c", "b"}) {
			t.Fatalf("breaker open: %v", nodes)
		}
	}
	clk.Advance(breakerOpen + time.Millisecond) // half open, and the set expired
	delete(m.anyDown, "b")
	var sawB bool
	for range 2 {
		nodes, _ := ns["a"].r.Replicas(ctx, "echo", "ping")
		sawB = sawB || nodes[0] == "b"
	}
	if !sawB {
		t.Fatal("b never first again after breakerOpen")
	}
	// An answer closes the breaker for good.
	m.anyOrder = nil
	for range 2 {
		if _, err := ns["a"].r.Service(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := ns["a"].r.breakers["b"]; ok {
		t.Fatal("b's breaker survived an answer")
	}
	if _, err := ns["a"].r.Service(ctx, &kernel.Envelope{Target: kernel.Target{Kind: kernel.TargetServiceMethod, Service: "nope", Method: "x"}}); !errors.Is(err, kernel.ErrUnknownService) {
		t.Fatalf("no replica: %v", err)
	}
}

// TestRemoteSpawnAndPS: a remote spawn reaches the target's governed
// spawn path with the asking node and the defaults; ps lists every member,
// a member not alive with why.
func TestRemoteSpawnAndPS(t *testing.T) {
	m, ns, _, _ := newMesh(t, "a", "b", "c")
	ctx := context.Background()
	pid, err := ns["a"].r.Spawn(ctx, "b", apitype.SpawnRequest{Name: "w"})
	if err != nil || pid != 101 {
		t.Fatalf("spawn: %d %v", pid, err)
	}
	calls := ns["b"].spawner.calls
	if len(calls) != 1 || calls[0].node != "a" || calls[0].spec.Kind != kernel.MailboxKind || !calls[0].spec.Caps.CanIPC || calls[0].spec.Name != "w" {
		t.Fatalf("b spawned %+v", calls)
	}
	caps := kernel.Capabilities{}
	if _, err := ns["a"].r.Spawn(ctx, "b", apitype.SpawnRequest{Name: "x", Kind: "agent", Caps: &caps}); err != nil {
		t.Fatal(err)
	}
	if c := ns["b"].spawner.calls[1]; c.spec.Kind != "agent" || c.spec.Caps.CanIPC {
		t.Fatalf("asked kind and caps not kept: %+v", c)
	}
	ns["a"].k.procs = []kernel.Info{{PID: 1, Name: "self"}}
	ns["b"].k.procs = []kernel.Info{{PID: 2, Name: "bee"}}
	m.states["c"] = "dead"
	out, err := ns["a"].r.Processes(ctx, true)
	if err != nil || len(out) != 3 {
		t.Fatalf("ps: %v %+v", err, out)
	}
	if !out[0].Self || len(out[0].Processes) != 2 || out[1].Processes[0].Name != "bee" || len(out[1].Processes) != 2 {
		t.Fatalf("ps: %+v", out)
	}
	if out[2].Error == "" || out[2].Processes == nil {
		t.Fatalf("dead member: %+v", out[2])
	}
	b, _ := json.Marshal(out[2])
	if string(b) == "" {
		t.Fatal("unencodable")
	}
}
