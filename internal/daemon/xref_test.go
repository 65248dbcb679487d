//go:build !nollm

package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/llm/llmtest"
	"github.com/weftos/weftos/internal/memory"
)

func hasNode(r apitype.XrefResponse, typ, key string) bool {
	for _, n := range r.Nodes {
		if n.Type == typ && (key == "" || n.Key == key) {
			return true
		}
	}
	return false
}

// TestXrefFollowsAMemoryToItsToolCall: an agent stores a memory through
// the memory_store tool; `xref memory:ID` reaches the chain event that
// stored it, the decision, the session and the tool call — and the index
// survives a restart, then catches up with what was appended while it was
// closed.
func TestXrefFollowsAMemoryToItsToolCall(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "k")
	t.Setenv("ANTHROPIC_API_KEY", "")
	home := t.TempDir()
	d := open(t, home)
	fact := "The staging database password rotates every Friday."
	srv.Push(llmtest.Calls(llmtest.ToolCall{ID: "m1", Name: "memory_store", Arguments: `{"text":"` + fact + `"}`}), llmtest.Text("Noted."))
	ctx := context.Background()
	pid, err := d.agenthost.SessionAgent(ctx, RunRequest{Session: "monday", Workspace: t.TempDir(), Model: "openai/m"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ask(ctx, d, pid, "remember: "+fact); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(home)
	if err != nil {
		t.Fatal(err)
	}
	key := "memory:" + memory.ContentID(fact)
	r, err := c.Xref(ctx, key, 3)
	if err != nil {
		t.Fatal(err)
	}
	if r.Nodes[0].Key != key {
		t.Fatalf("root %+v", r.Nodes[0])
	}
	for _, want := range [][2]string{{"chain.event", ""}, {"session", "session:monday"}, {"tool.call", "call:" + pid.String() + "/m1"},
		{"process", "pid:" + pid.String()}, {"action", ""}} {
		if !hasNode(r, want[0], want[1]) {
			t.Fatalf("xref %s does not reach %v: %+v", key, want, r.Nodes)
		}
	}
	rels := map[string]bool{}
	for _, l := range r.Links {
		rels[l.Rel] = true
	}
	for _, rel := range []string{"stored", "in_session", "for_call", "decided_by", "outcome_of", "decides"} { // xreflink's relations
		if !rels[rel] {
			t.Fatalf("no %s link in %+v", rel, r.Links)
		}
	}
	if _, err := c.Xref(ctx, "seq:999999", 1); !errors.Is(err, apitype.ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
	closeD(t, d)
	// While the daemon is down nothing is indexed; at the next boot the
	// index picks up from where it stopped (and what boot appends).
	x := filepath.Join(home, homedir.Xref)
	before, err := os.Stat(x)
	if err != nil {
		t.Fatal(err)
	}
	d = open(t, home)
	defer closeD(t, d)
	c, _ = client.New(home)
	// A query answers from an index caught up to at least the chain as it
	// was when asked (the node may append more meanwhile: exits, ticks).
	asked := d.chain.Len()
	r2, err := c.Xref(ctx, key, 3)
	if err != nil || len(r2.Nodes) < len(r.Nodes) { // the shutdown added the process's exit
		t.Fatalf("after restart: %d nodes (was %d), %v", len(r2.Nodes), len(r.Nodes), err)
	}
	if r2.Through < r.Through || r2.Through < asked || r2.Through > d.chain.Len() {
		t.Fatalf("through %d, chain %d when asked, %d now", r2.Through, asked, d.chain.Len())
	}
	if after, _ := os.Stat(x); after.Size() <= before.Size() {
		t.Fatal("the boot's events were not indexed")
	}
}

// TestXrefRebuiltWhenDamaged: a damaged index is kept aside and rebuilt
// from the chain.
func TestXrefRebuiltWhenDamaged(t *testing.T) {
	home := t.TempDir()
	closeD(t, open(t, home))
	x := filepath.Join(home, homedir.Xref)
	data, err := os.ReadFile(x)
	if err != nil || len(data) < 40 {
		t.Fatalf("index %d bytes, %v", len(data), err)
	}
	data[12] ^= 0xff // the first frame's length check: damage, not a torn tail
	if err := os.WriteFile(x, data, 0o600); err != nil {
		t.Fatal(err)
	}
	d := open(t, home)
	defer closeD(t, d)
	c, _ := client.New(home)
	if _, err := c.Xref(context.Background(), "seq:0", 1); err != nil {
		t.Fatal(err)
	}
	kept, _ := filepath.Glob(x + ".corrupt-*")
	if len(kept) != 1 {
		t.Fatalf("damaged index not kept: %v", kept)
	}
}
