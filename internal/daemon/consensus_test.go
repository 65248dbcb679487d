//go:build !nomesh

package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
)

// formCluster makes a cluster of the nodes, the first its genesis, and
// waits until every node decides with the committed constitution.
func formCluster(t *testing.T, nodes ...*clusterNode) {
	t.Helper()
	ctx := context.Background()
	if _, err := nodes[0].c.ClusterInit(ctx, apitype.ClusterInitRequest{Name: "lab", NodeName: "a", Listen: "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes[1:] {
		inv, err := nodes[0].c.ClusterInvite(ctx, apitype.ClusterInviteRequest{TTLMS: time.Hour.Milliseconds()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.c.ClusterJoin(ctx, apitype.ClusterJoinRequest{Token: inv.Token, Listen: "127.0.0.1:0"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodes {
		waitFor(t, n.id+" has caught up with the cluster's constitution", func() bool {
			st, err := n.c.ClusterStatus(ctx)
			return err == nil && st.Consensus != nil && st.Consensus.Committed != "" && st.Consensus.Behind == "" &&
				len(st.Consensus.Voters) == len(nodes)
		})
	}
}

// TestClusterAmendmentReplicates: the genesis node's constitution becomes
// every member's (a joiner whose own differs adopts it); an amendment made
// on a follower commits through Raft and is in force, recorded with its
// origin, and enforced by every node's gate; a node that has not received
// the committed constitution refuses to decide.
func TestClusterAmendmentReplicates(t *testing.T) {
	ctx := context.Background()
	a, b, c := newClusterNode(t), newClusterNode(t), newClusterNode(t)
	// c's own constitution differs before it joins.
	local := "[[rule]]\nid = \"c-only\"\nbranch = \"executive\"\nseverity = \"advisory\"\noutcome = \"warn\"\n" +
		"[rule.when]\nactions = [\"nothing.here\"]\n"
	if _, err := c.c.GovAmend(ctx, apitype.AmendRequest{Text: local}); err != nil {
		t.Fatal(err)
	}
	formCluster(t, a, b, c)
	hashOf := func(n *clusterNode) string {
		r, err := n.c.GovRules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r.Hash
	}
	want := hashOf(a)
	for _, n := range []*clusterNode{b, c} {
		if h := hashOf(n); h != want {
			t.Fatalf("%s decides with %s, the cluster's constitution is %s", n.id, h, want)
		}
	}

	// b (a follower) amends: no node may invite any more.
	rule := "[[rule]]\nid = \"no-invites\"\nbranch = \"executive\"\nseverity = \"blocking\"\noutcome = \"deny\"\n" +
		"[rule.when]\nactions = [\"cluster.invite\"]\n"
	res, err := b.c.GovAmend(ctx, apitype.AmendRequest{Text: rule})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*clusterNode{a, b, c} {
		// b had it in force before answering; the others as soon as they
		// applied the entry.
		waitFor(t, n.id+" has the amendment in force", func() bool { return hashOf(n) == res.Hash })
		if _, err := n.c.ClusterInvite(ctx, apitype.ClusterInviteRequest{}); !errors.Is(err, apitype.ErrDenied) {
			t.Errorf("%s's gate let an invite through after the amendment: %v", n.id, err)
		}
		// The amendment is on every chain, with its origin.
		evs, err := n.c.ChainEvents(ctx, apitype.ChainEventsQuery{N: 10000})
		if err != nil {
			t.Fatal(err)
		}
		found := slices.ContainsFunc(evs, func(e apitype.ChainEvent) bool {
			var rec governance.AmendmentRecord
			return e.Kind == governance.KindAmendment && json.Unmarshal(e.Payload, &rec) == nil &&
				rec.ResultHash == res.Hash && rec.Origin == b.id && rec.RaftIndex > 0
		})
		if !found {
			t.Errorf("%s's chain has no record of b's amendment", n.id)
		}
	}

	// An amendment against a constitution no longer in force is refused.
	stale := res.Amendment
	stale.Op, stale.RuleID = governance.AmendRetire, "no-invites"
	stale.RuleText, stale.RuleHash = "", ""
	stale.Base = want // the constitution before the amendment
	if err := stale.Sign(c.d.id.Ed25519); err != nil {
		t.Fatal(err)
	}
	if _, err := c.d.commitAmendment(ctx, "test", stale); err == nil {
		t.Fatal("a stale amendment committed")
	}

	// A node whose constitution in force is not the committed one decides
	// nothing (but may still leave).
	c.d.rep.Reset() // as if the cluster's constitution had not reached it
	d := consensusGate{c.d, c.d.gov.gate}.Check(ctx, &governance.Request{Action: "agent.spawn"})
	if d.Outcome != governance.Deny || d.RuleIDs[0] != "cluster.consensus" {
		t.Fatalf("a node without the committed constitution decided %+v", d)
	}
	if d := (consensusGate{c.d, c.d.gov.gate}).Check(ctx, &governance.Request{Action: "cluster.leave"}); d.Outcome == governance.Deny {
		t.Fatalf("leaving was denied: %+v", d)
	}
	// A restarted node replays the log and is in step again.
	closeD(t, c.d)
	c.d = open(t, c.home)
	waitFor(t, "the restarted node decides again", func() bool {
		st, err := c.c.ClusterStatus(ctx)
		return err == nil && st.Consensus != nil && st.Consensus.Behind == "" && st.Consensus.InForce == res.Hash
	})
}

// TestClusterServiceRegistry: a service registered on one node is listed
// in every node's replicated registry; unregistered, it is withdrawn.
func TestClusterServiceRegistry(t *testing.T) {
	ctx := context.Background()
	a, b := newClusterNode(t), newClusterNode(t)
	formCluster(t, a, b)
	p, err := b.c.Spawn(ctx, apitype.SpawnRequest{Name: "echo", Kind: kernel.MailboxKind})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.RegisterService(ctx, apitype.ServiceRegisterRequest{Name: "echo", PID: p, Methods: []string{"ping"}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*clusterNode{a, b} {
		waitFor(t, n.id+" lists b serving echo", func() bool { return slices.Equal(n.d.rep.Serving("echo"), []string{b.id}) })
	}
	if err := b.c.UnregisterService(ctx, "echo"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a sees echo withdrawn", func() bool { return len(a.d.rep.Serving("echo")) == 0 })
}

// TestClusterWitnessesRewrittenChain: members witness each other's chain
// checkpoints; when one node's history is rewritten (its chain replaced by
// another signed with the same keys) the others detect the fork, record it
// on their own chains, and show it in peers, witnesses and health.
func TestClusterWitnessesRewrittenChain(t *testing.T) {
	ctx := context.Background()
	a, b := newClusterNode(t), newClusterNode(t)
	formCluster(t, a, b)
	waitFor(t, "a witnesses b's chain", func() bool {
		a.d.witnessRound(ctx)
		ws, err := a.c.ChainWitnesses(ctx)
		return err == nil && len(ws) == 1 && ws[0].Node == b.id && ws[0].Size > 0
	})
	// b goes on; a's next witness is a consistent extension.
	before, _ := a.d.witnesses.Get(b.id)
	if _, err := b.c.Spawn(ctx, apitype.SpawnRequest{Name: "more", Kind: kernel.MailboxKind}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a witnesses b's chain grow", func() bool {
		a.d.witnessRound(ctx)
		r, _ := a.d.witnesses.Get(b.id)
		return r.Checkpoint.Size > before.Checkpoint.Size && !r.Forked
	})

	// b's history is rewritten: the chain replaced, same keys, same node.
	closeD(t, b.d)
	if err := os.RemoveAll(filepath.Join(b.home, ChainDir)); err != nil {
		t.Fatal(err)
	}
	b.d = open(t, b.home)
	waitFor(t, "a detects the rewrite", func() bool {
		if stateOf(ctx, a, b.id) == "alive" {
			a.d.witnessRound(ctx)
		}
		r, _ := a.d.witnesses.Get(b.id)
		return r.Forked
	})
	ws, err := a.c.ChainWitnesses(ctx)
	if err != nil || len(ws) != 1 || !ws[0].Forked || ws[0].Reason == "" || ws[0].EvidenceRoot == "" {
		t.Fatalf("a's witnesses: %+v %v", ws, err)
	}
	ps, err := a.c.ClusterPeers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(ps, func(p apitype.ClusterPeer) bool { return p.NodeID == b.id && p.Forked && p.Fork != "" }) {
		t.Errorf("a's peers do not show b forked: %+v", ps)
	}
	st, err := a.c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(st.Problems, func(p string) bool { return strings.Contains(p, b.id) }) {
		t.Errorf("a's health does not name the fork: %v", st.Problems)
	}
	waitFor(t, "a's chain records the witnessing and the fork", func() bool {
		k := chainKinds(t, ctx, a)
		return slices.Contains(k, governance.KindChainFork) && slices.Contains(k, governance.KindChainWitness)
	})
}
