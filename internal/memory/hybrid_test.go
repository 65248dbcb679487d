package memory_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/memory"
)

var bm25Only = memory.Weights{BM25: 1}

// findsAll checks that every fact is the top BM25 hit for its own text.
func findsAll(t *testing.T, s *memory.Store, texts []string) {
	t.Helper()
	for _, f := range texts {
		hits, err := s.SearchWith(context.Background(), f, 1, memory.Filter{}, memory.SearchOptions{Weights: &bm25Only})
		if err != nil || len(hits) != 1 || hits[0].Record.Text != f {
			t.Fatalf("search %q: %v %v", f, ids(hits), err)
		}
	}
}

func TestLexIndexPersists(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, lexical(t, 0), false)
	for _, f := range facts {
		put(t, s, f, memory.Meta{})
	}
	if err := s.Delete(ctx, memory.ContentID(facts[1])); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Stats(ctx); st.LexSource != "new" || st.LexTerms == 0 {
		t.Fatalf("stats %+v", st)
	}
	before, err := s.SearchWith(ctx, "cat named Whiskers", 3, memory.Filter{}, memory.SearchOptions{Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)

	s = open(t, dir, lexical(t, 0), false)
	defer closeStore(t, s)
	st, _ := s.Stats(ctx)
	if st.LexSource != "loaded" || st.Records != len(facts)-1 {
		t.Fatalf("reopen: %+v", st)
	}
	after, err := s.SearchWith(ctx, "cat named Whiskers", 3, memory.Filter{}, memory.SearchOptions{Explain: true})
	if err != nil || len(after) != len(before) {
		t.Fatalf("after reopen: %v %v", ids(after), err)
	}
	for i := range before {
		if before[i].Record.ID != after[i].Record.ID || before[i].Score != after[i].Score {
			t.Fatalf("hit %d differs after reopen: %+v vs %+v", i, before[i], after[i])
		}
	}
	findsAll(t, s, append(facts[:1:1], facts[2:]...))
	// Incremental after reopen: a new record is found at once, and the
	// deleted one stays gone.
	put(t, s, "The garden hose leaks near the tap.", memory.Meta{})
	findsAll(t, s, []string{"The garden hose leaks near the tap."})
	if hits, _ := s.SearchWith(ctx, facts[1], 10, memory.Filter{}, memory.SearchOptions{Weights: &bm25Only}); len(hits) > 0 && hits[0].Record.Text == facts[1] {
		t.Fatalf("deleted record found: %v", ids(hits))
	}
}

// TestLexIndexRecovers damages memory.lex the ways a crash or a disk can,
// and checks the index is rebuilt from the records (nothing lost, nothing
// re-embedded), then saved.
func TestLexIndexRecovers(t *testing.T) {
	ctx := context.Background()
	lexPath := func(dir string) string { return filepath.Join(dir, "memory.lex") }
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string, old []byte)
	}{
		{"missing", func(t *testing.T, dir string, _ []byte) { os.Remove(lexPath(dir)) }},
		{"corrupt", func(t *testing.T, dir string, _ []byte) {
			b, _ := os.ReadFile(lexPath(dir))
			b[len(b)/2] ^= 0xff
			os.WriteFile(lexPath(dir), b, 0o600)
		}},
		{"truncated", func(t *testing.T, dir string, _ []byte) {
			b, _ := os.ReadFile(lexPath(dir))
			os.WriteFile(lexPath(dir), b[:len(b)-7], 0o600)
		}},
		// a crash after records were stored but before the next save
		{"older generation", func(t *testing.T, dir string, old []byte) { os.WriteFile(lexPath(dir), old, 0o600) }},
		// a crash in the middle of a save leaves a temporary file behind
		{"torn temporary file", func(t *testing.T, dir string, old []byte) {
			os.WriteFile(filepath.Join(dir, ".memory.lex.tmp-123"), old[:len(old)/2], 0o600)
			os.WriteFile(lexPath(dir), old, 0o600)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, lexical(t, 0), false)
			for _, f := range facts[:4] {
				put(t, s, f, memory.Meta{})
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			old, err := os.ReadFile(lexPath(dir))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range facts[4:] {
				put(t, s, f, memory.Meta{})
			}
			closeStore(t, s)
			tc.damage(t, dir, old)

			emb := lexical(t, 0)
			s = open(t, dir, emb, false)
			st, _ := s.Stats(ctx)
			if st.LexSource != "rebuilt" || st.Records != len(facts) || emb.texts.Load() != 0 {
				t.Fatalf("stats %+v, embedded %d", st, emb.texts.Load())
			}
			findsAll(t, s, facts)
			closeStore(t, s)
			s = open(t, dir, lexical(t, 0), false) // the rebuilt index was saved
			defer closeStore(t, s)
			if st, _ := s.Stats(ctx); st.LexSource != "loaded" {
				t.Fatalf("second reopen: %+v", st)
			}
			findsAll(t, s, facts)
		})
	}
}

func TestHybridSearch(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), lexical(t, 0), true)
	defer closeStore(t, s)
	day := time.Date(2023, 5, 7, 0, 0, 0, 0, time.UTC)
	turns := []struct{ speaker, text string }{
		{"Caroline", "Guess what, I have news!"},
		{"Melanie", "Tell me!"},
		{"Caroline", "I went to the LGBTQ support group yesterday."},
		{"Melanie", "That is wonderful, how did it feel?"},
		{"Caroline", "Powerful. The transgender stories were inspiring."},
		{"Melanie", "I painted a sunrise by the lake last week."},
	}
	for i, tr := range turns {
		if _, _, err := s.Put(ctx, tr.speaker+": "+tr.text, memory.Meta{Speaker: tr.speaker, Session: "s1",
			Time: day.Add(time.Duration(i) * time.Minute)}, 1); err != nil {
			t.Fatal(err)
		}
	}
	hits, err := s.SearchWith(ctx, "the LGBTQ support group", 3, memory.Filter{}, memory.SearchOptions{Explain: true})
	if err != nil || len(hits) == 0 {
		t.Fatal(hits, err)
	}
	if got := hits[0].Record.Text; got != "Caroline: I went to the LGBTQ support group yesterday." {
		t.Fatalf("top hit %q", got)
	}
	// The neighbour component brings the reply to the top 3.
	found := false
	for _, h := range hits {
		if h.Record.Meta.Speaker == "Melanie" && h.Record.Text == "Melanie: That is wonderful, how did it feel?" {
			found = true
			var nb memory.Contribution
			for _, c := range h.Explain {
				if c.Component == memory.CompNeighbor {
					nb = c
				}
			}
			if nb.Rank == 0 || nb.Fused <= 0 {
				t.Fatalf("neighbour contribution %+v", h.Explain)
			}
		}
	}
	if !found {
		t.Fatalf("reply not in the top 3: %v", ids(hits))
	}
	for _, h := range hits {
		sum := 0.0
		for _, c := range h.Explain {
			sum += c.Fused
		}
		if d := sum - float64(h.Score); d > 1e-6 || d < -1e-6 {
			t.Fatalf("explanation adds up to %v, score %v", sum, h.Score)
		}
	}
	// Without neighbours (and the graph walk, which also steps to them),
	// the reply, which shares no word, is not found.
	w, _ := memory.DefaultWeightsFor(s.Embedder()).Without(memory.CompNeighbor, memory.CompGraph)
	hits, err = s.SearchWith(ctx, "the LGBTQ support group", 3, memory.Filter{}, memory.SearchOptions{Weights: &w})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		if h.Record.Text == "Melanie: That is wonderful, how did it feel?" {
			t.Fatalf("found without neighbours: %v", ids(hits))
		}
	}
	// The date field: "May 2023" matches every turn's date.
	if hits, err := s.SearchWith(ctx, "May 2023", 10, memory.Filter{}, memory.SearchOptions{Weights: &bm25Only}); err != nil || len(hits) != len(turns) {
		t.Fatalf("date search: %v %v", ids(hits), err)
	}
	// Bad options are refused: an unknown fusion, BM25 constants out of
	// range, every component switched off.
	if _, err := s.SearchWith(ctx, "x", 3, memory.Filter{}, memory.SearchOptions{Fusion: "max"}); !errors.Is(err, memory.ErrInvalidOptions) {
		t.Fatalf("unknown fusion: %v", err)
	}
	bad := memory.DefaultBM25
	bad.K1 = 0
	if _, err := s.SearchWith(ctx, "x", 3, memory.Filter{}, memory.SearchOptions{BM25: &bad}); !errors.Is(err, memory.ErrInvalidOptions) {
		t.Fatalf("k1 = 0: %v", err)
	}
	if _, err := s.SearchWith(ctx, "x", 3, memory.Filter{}, memory.SearchOptions{Weights: &memory.Weights{}}); !errors.Is(err, memory.ErrInvalidOptions) {
		t.Fatalf("all off: %v", err)
	}
}
