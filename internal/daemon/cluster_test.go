//go:build !nomesh

package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/kernel"
)

// clusterNode is a daemon with its client, in-process on its own home.
type clusterNode struct {
	d    *Daemon
	c    *client.Client
	home string
	id   string
}

func newClusterNode(t *testing.T) *clusterNode {
	t.Helper()
	home := t.TempDir()
	d := open(t, home)
	c, err := client.New(home)
	if err != nil {
		t.Fatal(err)
	}
	n := &clusterNode{d: d, c: c, home: home, id: d.id.NodeID}
	t.Cleanup(func() {
		c.Close()
		if n.d != nil {
			closeD(t, n.d)
		}
	})
	return n
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stateOf(ctx context.Context, n *clusterNode, id string) string {
	ps, err := n.c.ClusterPeers(ctx)
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

func chainKinds(t *testing.T, ctx context.Context, n *clusterNode) []string {
	t.Helper()
	evs, err := n.c.ChainEvents(ctx, apitype.ChainEventsQuery{N: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

// TestClusterOfDaemons: three daemons form a cluster by invitation, see
// each other, exchange IPC (a remote process, a cluster-wide topic, a
// service with replicas that fails over when a node goes away, a remote
// spawn governed on the target) and record all of it on their chains.
func TestClusterOfDaemons(t *testing.T) {
	ctx := context.Background()
	a, b, c := newClusterNode(t), newClusterNode(t), newClusterNode(t)
	if _, err := a.c.ClusterInit(ctx, apitype.ClusterInitRequest{Name: "lab", NodeName: "a", Listen: "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	join := func(n *clusterNode, name string) {
		t.Helper()
		inv, err := a.c.ClusterInvite(ctx, apitype.ClusterInviteRequest{TTLMS: time.Hour.Milliseconds()})
		if err != nil {
			t.Fatal(err)
		}
		st, err := n.c.ClusterJoin(ctx, apitype.ClusterJoinRequest{Token: inv.Token, NodeName: name, Listen: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		if !st.InCluster || st.Cluster != inv.Cluster || st.Genesis != a.id {
			t.Fatalf("%s joined: %+v", name, st)
		}
		// The token was single use.
		if _, err := a.c.ClusterInvite(ctx, apitype.ClusterInviteRequest{}); err != nil {
			t.Fatal(err)
		}
		other := newClusterNode(t)
		if _, err := other.c.ClusterJoin(ctx, apitype.ClusterJoinRequest{Token: inv.Token, Listen: "127.0.0.1:0"}); !errors.Is(err, apitype.ErrTokenUsed) {
			t.Fatalf("a replayed token: %v", err)
		}
	}
	join(b, "b")
	join(c, "c")
	nodes := []*clusterNode{a, b, c}
	for _, n := range nodes {
		for _, m := range nodes {
			waitFor(t, n.id+" sees "+m.id+" alive", func() bool { return stateOf(ctx, n, m.id) == "alive" })
		}
	}

	// A process on b, reached from a.
	pid, err := b.c.Spawn(ctx, apitype.SpawnRequest{Name: "inbox", Kind: kernel.MailboxKind})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.c.Send(ctx, apitype.SendRequest{Target: kernel.ToRemote(b.id, kernel.ToProcess(pid)), Payload: kernel.Text("hello"), Request: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Reply == nil || resp.Reply.Payload.Kind != kernel.PayloadJSON || resp.Reply.Origin != b.id {
		t.Fatalf("the remote mailbox's reply: %+v", resp.Reply)
	}
	if _, err := a.c.Send(ctx, apitype.SendRequest{Target: kernel.ToRemote(b.id, kernel.ToKernel()), Payload: kernel.JSONPayload(json.RawMessage(`{"op":"ps"}`))}); !errors.Is(err, kernel.ErrScope) {
		t.Errorf("another node's kernel target: %v", err)
	}

	// A topic spans the cluster.
	sub, err := c.c.Spawn(ctx, apitype.SpawnRequest{Name: "sub", Kind: kernel.MailboxKind, Args: json.RawMessage(`{"topics":["news"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	// The mailbox is subscribed when Spawn returns (kernel.TopicSubscriber).
	if _, err := a.c.Send(ctx, apitype.SendRequest{Target: kernel.ToTopic("news"), Payload: kernel.Text("extra")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "c's subscriber gets a's topic message", func() bool {
		in, err := c.c.Inspect(ctx, sub)
		return err == nil && in.MsgsRecv == 1
	})

	// A service with replicas on b and c, called from a; b goes away and
	// the calls fail over to c.
	for _, n := range []*clusterNode{b, c} {
		p, err := n.c.Spawn(ctx, apitype.SpawnRequest{Name: "echo", Kind: kernel.MailboxKind})
		if err != nil {
			t.Fatal(err)
		}
		info, err := n.c.RegisterService(ctx, apitype.ServiceRegisterRequest{Name: "echo", PID: p, Methods: []string{"ping", "set"}, Idempotent: []string{"ping"}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(info.Idempotent, []string{"ping"}) {
			t.Fatalf("registered %+v", info)
		}
	}
	// Both replicas are in the replicated service registry, and both
	// declare ping idempotent (set is not: a call to it left unanswered
	// is not retried).
	waitFor(t, "a's registry lists both replicas", func() bool { return len(a.d.rep.Serving("echo")) == 2 })
	if nodes, idem := a.d.remote.Replicas(ctx, "echo", "ping"); len(nodes) != 2 || !idem {
		t.Fatalf("echo.ping resolves to %v, idempotent %v", nodes, idem)
	}
	if _, idem := a.d.remote.Replicas(ctx, "echo", "set"); idem {
		t.Fatal("echo.set resolves as idempotent")
	}
	call := func() (*kernel.Envelope, error) {
		r, err := a.c.Send(ctx, apitype.SendRequest{Target: kernel.ToMethod("echo", "ping"), Payload: kernel.Text("ping"), Request: true})
		return r.Reply, err
	}
	served := map[string]bool{}
	for range 4 {
		r, err := call()
		if err != nil {
			t.Fatal(err)
		}
		served[r.Origin] = true
	}
	if !served[b.id] || !served[c.id] {
		t.Errorf("round-robin over the replicas served by %v", served)
	}
	closeD(t, b.d)
	b.d = nil
	for range 4 {
		r, err := call()
		if err != nil {
			t.Fatalf("a call after b went away: %v", err)
		}
		if r.Origin != c.id {
			t.Fatalf("served by %s", r.Origin)
		}
	}
	waitFor(t, "a sees b dead", func() bool { s := stateOf(ctx, a, b.id); return s == "dead" || s == "suspect" })
	// A request for b fails at once, saying whether it left this node.
	if _, err := a.c.Send(ctx, apitype.SendRequest{Target: kernel.ToRemote(b.id, kernel.ToProcess(pid)), Payload: kernel.Text("x"), Request: true}); !errors.Is(err, apitype.ErrNotSent) && !errors.Is(err, apitype.ErrNoReply) {
		t.Fatalf("a request for a node gone: %v", err)
	}

	// A remote spawn is decided by the target, with the asking node as
	// the subject.
	sp, err := a.c.ClusterSpawn(ctx, apitype.ClusterSpawnRequest{Node: c.id, Spawn: apitype.SpawnRequest{Name: "remote", Kind: kernel.MailboxKind}})
	if err != nil {
		t.Fatal(err)
	}
	if in, err := c.c.Inspect(ctx, sp.PID); err != nil || in.Name != "remote" {
		t.Fatalf("the remotely spawned process: %+v, %v", in, err)
	}

	// ps --cluster from a: its own table, c's (with the process a spawned
	// there), and b — gone — listed with the reason instead of its table.
	tables, err := a.c.ClusterProcesses(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	byNode := map[string]apitype.ClusterNodeProcesses{}
	for _, n := range tables {
		byNode[n.NodeID] = n
	}
	has := func(n apitype.ClusterNodeProcesses, name string) bool {
		for _, p := range n.Processes {
			if p.Name == name {
				return true
			}
		}
		return false
	}
	if n := byNode[a.id]; !n.Self || n.Error != "" || len(n.Processes) == 0 {
		t.Errorf("a's own table: %+v", n)
	}
	if n := byNode[c.id]; n.Error != "" || !has(n, "remote") || !has(n, "sub") {
		t.Errorf("c's table from a: %+v", n)
	}
	if n := byNode[b.id]; n.Error == "" || len(n.Processes) != 0 {
		t.Errorf("b, gone, listed as %+v", n)
	}

	// Removal: a removes c, and c can no longer reach a.
	if _, err := a.c.ClusterRemove(ctx, apitype.ClusterRemoveRequest{Node: c.id, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	if st := stateOf(ctx, a, c.id); st != "removed" {
		t.Errorf("a shows c as %s", st)
	}
	if _, err := c.c.Send(ctx, apitype.SendRequest{Target: kernel.ToRemote(a.id, kernel.ToTopic("x")), Payload: kernel.Text("x")}); err == nil {
		t.Error("a removed node still reaches a member")
	}

	// Everything is on the chains, and the chains audit clean.
	for _, tc := range []struct {
		n     *clusterNode
		kinds []string
	}{
		{a, []string{"cluster.init", "cluster.invite", "cluster.admit", "cluster.member", "cluster.remove"}},
		{c, []string{"cluster.join", "process.spawn"}},
	} {
		got := chainKinds(t, ctx, tc.n)
		for _, k := range tc.kinds {
			if !slices.Contains(got, k) {
				t.Errorf("%s's chain has no %s", tc.n.id, k)
			}
		}
		rep, err := tc.n.c.GovAudit(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Findings) != 0 {
			t.Errorf("%s's audit: %+v", tc.n.id, rep.Findings)
		}
	}
	evs, err := c.c.ChainEvents(ctx, apitype.ChainEventsQuery{N: 10000, Kind: "governance.decision"})
	if err != nil {
		t.Fatal(err)
	}
	remoteSubject := false
	for _, e := range evs {
		var rec struct {
			Request struct {
				Action string `json:"action"`
				Agent  string `json:"agent"`
			} `json:"request"`
		}
		if json.Unmarshal(e.Payload, &rec) == nil && rec.Request.Action == "agent.spawn" && rec.Request.Agent == "node:"+a.id {
			remoteSubject = true
		}
	}
	if !remoteSubject {
		t.Error("c did not decide the remote spawn with a as the subject")
	}
}
