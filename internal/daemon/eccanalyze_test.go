package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/memory"
	"github.com/weftos/weftos/internal/session"
)

func writeCorpus(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"notes/deploy.md": "# Deploys\n\nAda Lovelace runs the deploy every Friday with @grace.\n\n" +
			"# Rollback\n\nIf the deploy fails, Grace Hopper rolls back on 7 May 2023.\n\n# Deploys\n\nAda Lovelace runs the deploy every Friday with @grace.\n",
		"notes/team.txt": "The Core Team meets in London.\n\nAda Lovelace leads it.\n",
		"image.png":      "not text",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func analyze(t *testing.T, c *client.Client, req apitype.EccAnalyzeRequest) (apitype.EccAnalyzeResult, []apitype.EccAnalyzeProgress) {
	t.Helper()
	var prog []apitype.EccAnalyzeProgress
	res, err := c.EccAnalyze(context.Background(), req, func(p apitype.EccAnalyzeProgress) { prog = append(prog, p) })
	if err != nil {
		t.Fatal(err)
	}
	return res, prog
}

// TestEccAnalyze: a corpus becomes memory records, entities and edges,
// each batch a governed act; the chunks are cross-referenced to their
// document and to the event that stored them; a re-run changes nothing
// and records nothing; a copy analysed in another home gives the same
// graph hash; the graph rebuilt from the chain has it too.
func TestEccAnalyze(t *testing.T) {
	ctx := context.Background()
	corpus := t.TempDir()
	writeCorpus(t, corpus)
	home := t.TempDir()
	d := open(t, home)
	c, err := client.New(home)
	if err != nil {
		t.Fatal(err)
	}
	res, prog := analyze(t, c, apitype.EccAnalyzeRequest{Paths: []string{corpus}})
	// deploy.md: 3 chunks, the third equal to the first (one record; its
	// follows edge back to the second would close a cycle: refused);
	// team.txt: 1 chunk.
	if res.Documents != 2 || res.Analyzed != 2 || res.Chunks != 4 || res.Created != 3 || res.Acts != 2 || res.Refused != 1 ||
		res.Added != res.GraphEdges || res.Added+res.Refused >= res.Edges || len(res.GraphHash) != 64 || res.Entities < 6 {
		t.Fatalf("first analysis %+v", res)
	}
	if len(prog) == 0 || prog[len(prog)-1].DocsDone != 2 || prog[len(prog)-1].DocsTotal != 2 {
		t.Fatalf("progress %+v", prog)
	}
	st, err := c.EccStatus(ctx)
	if err != nil || st.Graph.Hash != res.GraphHash || st.Graph.Edges != res.GraphEdges {
		t.Fatalf("status %+v %v", st.Graph, err)
	}
	// A chunk: stored by an ecc.analyze event, part of its document,
	// mentioning its entities, following the chunk before it.
	chunk := "memory:" + memory.ContentID("# Rollback\n\nIf the deploy fails, Grace Hopper rolls back on 7 May 2023.")
	x, err := c.Xref(ctx, chunk, 1)
	if err != nil {
		t.Fatal(err)
	}
	rels := map[string]string{}
	label := map[string]string{}
	for _, n := range x.Nodes {
		label[n.ID] = n.Type + " " + n.Key
	}
	for _, l := range x.Links {
		rels[l.Rel] += label[l.From] + " -> " + label[l.To] + "; "
	}
	for rel, want := range map[string]string{"stored": "chain.event seq:", "ecc.part_of": "document doc:", "ecc.mentions": "entity entity:grace hopper",
		"ecc.follows": "memory.record memory:"} {
		if !strings.Contains(rels[rel], want) {
			t.Fatalf("xref %s: %q (all: %v)", rel, rels[rel], rels)
		}
	}
	why, err := c.EccWhy(ctx, chunk, apitype.EccWalkQuery{Depth: 1})
	if err != nil || len(why.Steps) == 0 {
		t.Fatalf("why %+v %v", why, err)
	}

	// Again: nothing new, nothing recorded, the same hash.
	before, _ := c.ChainStatus(ctx)
	again, _ := analyze(t, c, apitype.EccAnalyzeRequest{Paths: []string{corpus}})
	after, _ := c.ChainStatus(ctx)
	if again.Unchanged != 2 || again.Acts != 0 || again.GraphHash != res.GraphHash || after.Length != before.Length {
		t.Fatalf("second analysis %+v (chain %d → %d)", again, before.Length, after.Length)
	}
	// Every act is paired with its decision; the kinds are known.
	if rep, err := c.GovAudit(ctx, 0); err != nil || len(rep.Findings) != 0 {
		t.Fatalf("audit: %+v %v", rep, err)
	}
	closeD(t, d)

	// The graph rebuilt from the chain has the same hash.
	if err := os.Remove(filepath.Join(home, homedir.Graph)); err != nil {
		t.Fatal(err)
	}
	d = open(t, home)
	c, _ = client.New(home)
	if st, err := c.EccStatus(ctx); err != nil || st.Graph.Hash != res.GraphHash {
		t.Fatalf("rebuilt: %+v %v", st.Graph, err)
	}
	closeD(t, d)

	// A copy of the corpus, elsewhere, in another home: the same hash.
	copyDir := filepath.Join(t.TempDir(), "elsewhere")
	writeCorpus(t, copyDir)
	home2 := t.TempDir()
	d2 := open(t, home2)
	defer closeD(t, d2)
	c2, _ := client.New(home2)
	other, _ := analyze(t, c2, apitype.EccAnalyzeRequest{Paths: []string{copyDir}})
	if other.GraphHash != res.GraphHash || other.Analyzed != 2 {
		t.Fatalf("another home: %+v, want hash %s", other, res.GraphHash)
	}
}

// TestEccAnalyzeSession: a session's transcript (user messages and final
// answers) becomes turns part_of the session, following each other; a
// re-run records nothing.
func TestEccAnalyzeSession(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	s, err := session.Open(home, "planning")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []session.Step{session.UserMessage("Can Ada Lovelace review the Causal Graph on 2026-12-07?"),
		session.FinalAnswer("Yes: Ada Lovelace reviews it on Monday."), session.UserMessage("Thanks.")} {
		if _, err := s.Append(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	d := open(t, home)
	defer closeD(t, d)
	c, _ := client.New(home)
	res, _ := analyze(t, c, apitype.EccAnalyzeRequest{Sessions: []string{"planning"}})
	// 3 turns: 3 part_of, 2 follows, mentions of ada lovelace (twice),
	// causal graph, 2026-12-07.
	if res.Analyzed != 1 || res.Chunks != 3 || res.Acts != 1 || res.Edges != 9 || res.Added != 9 || res.Entities != 3 {
		t.Fatalf("%+v", res)
	}
	imp, err := c.EccImpact(ctx, "session:planning", apitype.EccWalkQuery{Depth: 1})
	if err != nil || len(imp.Steps) != 3 {
		t.Fatalf("the session's turns: %+v %v", imp, err)
	}
	again, _ := analyze(t, c, apitype.EccAnalyzeRequest{Sessions: []string{"planning"}})
	if again.Unchanged != 1 || again.Acts != 0 || again.GraphHash != res.GraphHash {
		t.Fatalf("again %+v", again)
	}
	if _, err := c.EccAnalyze(ctx, apitype.EccAnalyzeRequest{Sessions: []string{"../x"}}, nil); err == nil {
		t.Fatal("a bad session name was accepted")
	}
	if _, err := c.EccAnalyze(ctx, apitype.EccAnalyzeRequest{Paths: []string{"relative"}}, nil); err == nil {
		t.Fatal("a relative path was accepted")
	}
}

// TestIngestChunksCrossReferenced: every chunk a memory ingest stores is
// linked to its document and to the chain event that stored it.
func TestIngestChunksCrossReferenced(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.md"), []byte("# One\n\nfirst chunk\n\n# Two\n\nsecond chunk\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	d := open(t, home)
	defer closeD(t, d)
	c, _ := client.New(home)
	if _, err := c.MemoryIngest(ctx, apitype.MemoryIngestRequest{Paths: []string{dir}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"# One\n\nfirst chunk", "# Two\n\nsecond chunk"} {
		x, err := c.Xref(ctx, "memory:"+memory.ContentID(text), 1)
		if err != nil {
			t.Fatal(err)
		}
		var stored, doc bool
		for _, l := range x.Links {
			for _, n := range x.Nodes {
				if l.Rel == "stored" && n.ID == l.From && n.Type == "chain.event" {
					stored = true
				}
				if l.Rel == "part_of" && n.ID == l.To && n.Type == "document" && strings.HasPrefix(n.Key, "doc:") {
					doc = true
				}
			}
		}
		if !stored || !doc {
			t.Fatalf("%q: %+v", text, x)
		}
	}
	if rep, err := c.GovAudit(ctx, 0); err != nil || len(rep.Findings) != 0 {
		t.Fatalf("audit: %+v %v", rep, err)
	}
}
