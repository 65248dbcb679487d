//go:build !nollm

package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/llm/llmtest"
	"github.com/weftos/weftos/internal/memory"
	"github.com/weftos/weftos/internal/xref"
)

func newID(t *testing.T, name string) string {
	t.Helper()
	id, err := xref.Entity("test.artifact", name)
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// TestEccGraphThroughTheAPI: edges are governed acts on the chain;
// superseding evidence marks what was derived from it stale; why and
// impact walk the graph; a cycle is refused naming it (and the refusal is
// recorded); the graph survives a restart and is rebuilt from the chain
// when its file is lost.
func TestEccGraphThroughTheAPI(t *testing.T) {
	home := t.TempDir()
	d := open(t, home)
	c, err := client.New(home)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	evidence, fact, summary, correction := "seq:1", newID(t, "fact"), newID(t, "summary"), newID(t, "correction")
	link := func(from, typ, to string) apitype.EccEdgeResponse {
		t.Helper()
		out, err := c.EccLink(ctx, apitype.EccEdgeRequest{From: from, To: to, Type: typ})
		if err != nil {
			t.Fatalf("%s %s %s: %v", from, typ, to, err)
		}
		return out
	}
	first := link(fact, "derived_from", evidence)
	if !first.Added || first.Seq == 0 {
		t.Fatalf("%+v", first)
	}
	link(summary, "derived_from", fact)
	res := link(correction, "supersedes", evidence)
	if len(res.Stale) != 2 {
		t.Fatalf("superseding the evidence made %d artifacts stale, want 2", len(res.Stale))
	}
	why, err := c.EccWhy(ctx, summary, apitype.EccWalkQuery{Depth: 5})
	if err != nil || len(why.Steps) != 2 || !why.Root.Stale || why.Steps[1].Node.Key != evidence || !why.Steps[1].Node.Superseded {
		t.Fatalf("why: %+v %v", why, err)
	}
	imp, err := c.EccImpact(ctx, evidence, apitype.EccWalkQuery{Depth: 5})
	if err != nil || len(imp.Steps) != 3 {
		t.Fatalf("impact: %+v %v", imp, err)
	}
	_, err = c.EccLink(ctx, apitype.EccEdgeRequest{From: evidence, To: summary, Type: "derived_from"})
	if !errors.Is(err, apitype.ErrCycle) || !strings.Contains(err.Error(), summary[:12]) {
		t.Fatalf("cycle: %v", err)
	}
	if _, err := c.EccLink(ctx, apitype.EccEdgeRequest{From: fact, To: evidence, Type: "caused"}); !errors.Is(err, apitype.ErrInvalidArgument) {
		t.Fatalf("unknown type: %v", err)
	}
	// The edges are cross-referenced, and every act pairs with its decision.
	x, err := c.Xref(ctx, summary, 1)
	if err != nil || !hasNode(x, "graph.node", "") {
		t.Fatalf("xref of a graph node: %+v %v", x, err)
	}
	rep, err := c.GovAudit(ctx, 0)
	if err != nil || len(rep.Findings) != 0 {
		t.Fatalf("audit: %+v %v", rep, err)
	}
	closeD(t, d)

	d = open(t, home)
	c, _ = client.New(home)
	if why, err := c.EccWhy(ctx, summary, apitype.EccWalkQuery{Depth: 5}); err != nil || len(why.Steps) != 2 || !why.Root.Stale {
		t.Fatalf("after restart: %+v %v", why, err)
	}
	closeD(t, d)

	if err := os.Remove(filepath.Join(home, homedir.Graph)); err != nil {
		t.Fatal(err)
	}
	d = open(t, home)
	defer closeD(t, d)
	c, _ = client.New(home)
	if why, err := c.EccWhy(ctx, summary, apitype.EccWalkQuery{Depth: 5}); err != nil || len(why.Steps) != 2 || !why.Root.Stale {
		t.Fatalf("rebuilt from the chain: %+v %v", why, err)
	}
}

// TestActModeLinksAnswersToRecalledMemories: an answer given with
// recalled memories gets an id and derived_from edges to them (governed
// acts), so `ecc why ANSWER` shows what it was based on, and superseding
// the memory makes the answer stale.
func TestActModeLinksAnswersToRecalledMemories(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "k")
	t.Setenv("ANTHROPIC_API_KEY", "")
	home := t.TempDir()
	d := open(t, home)
	defer closeD(t, d)
	ctx := context.Background()
	fact := "The staging database password rotates every Friday."
	srv.Push(llmtest.Calls(llmtest.ToolCall{ID: "m1", Name: "memory_store", Arguments: `{"text":"` + fact + `"}`}), llmtest.Text("Noted."))
	pid, err := d.agenthost.SessionAgent(ctx, RunRequest{Session: "monday", Workspace: t.TempDir(), Model: "openai/m"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ask(ctx, d, pid, "remember: "+fact); err != nil {
		t.Fatal(err)
	}
	srv.Push(llmtest.Text("Every Friday."))
	pid2, err := d.agenthost.SessionAgent(ctx, RunRequest{Session: "tuesday", Workspace: t.TempDir(), Model: "openai/m"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ask(ctx, d, pid2, "When does the staging database password rotate?")
	if err != nil || rep.AnswerID == "" {
		t.Fatalf("answer %+v %v", rep, err)
	}
	c, _ := client.New(home)
	why, err := c.EccWhy(ctx, rep.AnswerID, apitype.EccWalkQuery{Depth: 1})
	key := "memory:" + memory.ContentID(fact)
	if err != nil || len(why.Steps) != 1 || why.Steps[0].Node.Key != key || why.Steps[0].Type != "derived_from" {
		t.Fatalf("why the answer: %+v %v", why, err)
	}
	res, err := c.EccLink(ctx, apitype.EccEdgeRequest{From: newID(t, "new policy"), To: key, Type: "supersedes"})
	if err != nil || len(res.Stale) != 1 || res.Stale[0] != rep.AnswerID {
		t.Fatalf("superseding the memory: %+v %v", res, err)
	}
	st, err := c.EccStatus(ctx)
	if err != nil || st.Queue.Rehearsed == 0 && st.Queue.Emitted == 0 {
		t.Fatalf("status %+v %v", st, err)
	}
}
