package memory_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/weftos/weftos/internal/memory"
)

// TestGraphPropagation: a question whose answer is in a record that shares
// no word with it, but shares a rare term with the record that does, is
// answered through the graph walk (and explained); with the graph switched
// off it is not found; the walk is deterministic.
func TestGraphPropagation(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), lexical(t, 0), true)
	defer closeStore(t, s)
	texts := []string{
		"Caroline adopted a puppy called Zephyr last spring.",
		"Zephyr sleeps on the balcony every afternoon.",
		"The quarterly report is due on Friday.",
		"Bring snacks to the picnic by the river.",
		"The printer on floor three is jammed again.",
		"Melanie painted a sunrise over the lake.",
	}
	for i, tx := range texts {
		// Each in its own session: no neighbours to propagate to.
		if _, _, err := s.Put(ctx, tx, memory.Meta{Session: "s" + string(rune('a'+i))}, 1); err != nil {
			t.Fatal(err)
		}
	}
	const q = "Where does the pet Caroline adopted like to nap?"
	const answer = "Zephyr sleeps on the balcony every afternoon."
	rank := func(w memory.Weights) int {
		hits, err := s.SearchWith(ctx, q, 3, memory.Filter{}, memory.SearchOptions{Weights: &w, Explain: true})
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range hits {
			if h.Record.Text == answer {
				for _, c := range h.Explain {
					if c.Component == memory.CompGraph && (c.Rank == 0 || c.Fused <= 0) {
						t.Fatalf("graph not explained: %+v", h.Explain)
					}
				}
				return i + 1
			}
		}
		return 0
	}
	def := memory.DefaultWeightsFor(s.Embedder())
	if def.Graph <= 0 {
		t.Fatal("the graph is off by default")
	}
	if r := rank(def); r == 0 {
		t.Fatal("the answer was not found through the graph")
	}
	off, _ := def.Without(memory.CompGraph)
	if r := rank(off); r != 0 {
		t.Fatalf("found at rank %d without the graph: the test shows nothing", r)
	}
	only, _ := def.Only(memory.CompGraph)
	a, _ := s.SearchWith(ctx, q, 6, memory.Filter{}, memory.SearchOptions{Weights: &only})
	for range 5 {
		b, _ := s.SearchWith(ctx, q, 6, memory.Filter{}, memory.SearchOptions{Weights: &only})
		if !slices.EqualFunc(a, b, func(x, y memory.Hit) bool { return x.Record.ID == y.Record.ID && x.Score == y.Score }) {
			t.Fatal("the walk is not deterministic")
		}
	}
	// The filter holds inside the walk.
	hits, err := s.SearchWith(ctx, q, 6, memory.Filter{Session: "sa"}, memory.SearchOptions{Weights: &only})
	if err != nil || len(hits) != 1 {
		t.Fatalf("filtered walk: %v %v", len(hits), err)
	}
}

// TestIngestStoreHook: a caller's store hook sees every batch (with the
// file's hash and chunk positions) and chooses the chain seq; a ledger
// keeps its own record of what is done.
func TestIngestStoreHook(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a.md"), "# One\n\nalpha beta\n\n# Two\n\ngamma delta\n\n# Three\n\nepsilon\n")
	s := open(t, t.TempDir(), lexical(t, 0), true)
	defer closeStore(t, s)
	if _, err := s.Ingest(ctx, []string{src}, memory.IngestOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	var batches []memory.IngestBatch
	hook := func(ctx context.Context, b memory.IngestBatch, put memory.PutFunc) ([]memory.PutResult, error) {
		batches = append(batches, b)
		return put(ctx, 77)
	}
	res, err := s.Ingest(ctx, []string{src}, memory.IngestOptions{Ledger: "other", Store: hook}, nil)
	if err != nil || res.Ingested != 1 || res.Chunks != 3 || res.Created != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if len(batches) != 1 || batches[0].First != 0 || batches[0].Total != 3 || len(batches[0].Texts) != 3 || len(batches[0].Hash) != 64 {
		t.Fatalf("batches %+v", batches)
	}
	// Again under the same ledger: nothing to do.
	res, err = s.Ingest(ctx, []string{src}, memory.IngestOptions{Ledger: "other", Store: hook}, nil)
	if err != nil || res.Unchanged != 1 || len(batches) != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	hits, err := s.Search(ctx, "epsilon", 1, memory.Filter{})
	if err != nil || len(hits) != 1 || hits[0].Record.ChainSeq == 77 {
		t.Fatalf("the first writer's record is kept: %+v %v", hits, err)
	}
}
