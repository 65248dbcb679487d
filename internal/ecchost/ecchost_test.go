package ecchost

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/xref"
)

// TestAnalysisEdges: the edges of an ecc.analyze record — part_of for
// every stored chunk, follows from the chunk before (Prev across batches;
// none between equal chunks, none through a chunk not stored), mentions
// per chunk — and malformed records refused.
func TestAnalysisEdges(t *testing.T) {
	doc := strings.Repeat("ab", 32)
	det := governance.EccAnalyzeDetail{Document: doc, Prev: "p0", Chunks: []string{"c1", "", "c1", "c2"},
		Entities: []string{"name:ada", "date:2023-05-07"}, Mentions: [][]int{{0, 1}, nil, {0}, nil}, DecisionSeq: 4, Recorded: 9}
	edges, err := AnalysisEdges(det)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	name := map[causal.ID]string{}
	for _, k := range []string{"p0", "c1", "c2"} {
		n, _ := xref.MemoryNode(k)
		name[causal.ID(n.ID)] = k
	}
	for _, k := range det.Entities {
		n, _ := EntityNode(k)
		name[causal.ID(n.ID)] = k
	}
	d, _ := xref.ParseID(doc)
	name[causal.ID(d)] = "doc"
	for _, e := range edges {
		if e.Seq != 4 || e.Recorded != 9 || e.ValidFrom != 9 || e.Weight != 1 {
			t.Fatalf("edge %+v", e)
		}
		got = append(got, name[e.From]+" "+e.Type.String()+" "+name[e.To])
	}
	want := []string{"c1 part_of doc", "c1 follows p0", "c1 mentions name:ada", "c1 mentions date:2023-05-07",
		"c1 part_of doc", "c1 mentions name:ada", "c2 part_of doc", "c2 follows c1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("edges\n%q\nwant\n%q", got, want)
	}
	for _, bad := range []governance.EccAnalyzeDetail{
		{Document: "zz"},
		{Document: doc, Chunks: []string{"c"}, Mentions: [][]int{{1}}},
		{Document: doc, Chunks: []string{"c"}, Entities: []string{"name:a"}, Mentions: [][]int{{-1}}},
	} {
		if _, err := AnalysisEdges(bad); err == nil {
			t.Fatalf("accepted %+v", bad)
		}
	}
}

// TestApplyEdgeRecord: an added ecc.edge outcome is applied (twice: no
// change), one not added or refused is not, a malformed one is an error.
func TestApplyEdgeRecord(t *testing.T) {
	from, to := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	rec := func(ok, added bool, typ string) json.RawMessage {
		det, _ := json.Marshal(governance.EccEdgeDetail{From: from, To: to, Type: typ, Weight: 1, DecisionSeq: 7, Recorded: 3, Added: added})
		b, _ := json.Marshal(governance.ActRecord{Action: "ecc.link", OK: ok, Detail: det})
		return b
	}
	g := causal.New()
	for _, p := range []json.RawMessage{rec(false, true, "depends_on"), rec(true, false, "depends_on")} {
		if err := ApplyEdgeRecord(g, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, n := g.Len(); n != 0 {
		t.Fatalf("%d edges from records that added none", n)
	}
	for range 2 {
		if err := ApplyEdgeRecord(g, rec(true, true, "depends_on")); err != nil {
			t.Fatal(err)
		}
	}
	if _, n := g.Len(); n != 1 {
		t.Fatalf("%d edges, want 1", n)
	}
	if err := ApplyEdgeRecord(g, rec(true, true, "no_such_type")); err == nil {
		t.Fatal("an unknown edge type was applied")
	}
	if err := ApplyEdgeRecord(g, json.RawMessage(`{`)); err == nil {
		t.Fatal("a malformed payload was applied")
	}
}
