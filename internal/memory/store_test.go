package memory_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/embed"
	"github.com/weftos/weftos/internal/memory"
)

// countingEmbedder counts the texts it embeds.
type countingEmbedder struct {
	memory.Embedder
	texts atomic.Int64
}

func (c *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.texts.Add(int64(len(texts)))
	return c.Embedder.Embed(ctx, texts)
}

// LexicalOnly forwards embed.Lexical's, so stores over a counting lexical
// embedder get the offline default weights.
func (c *countingEmbedder) LexicalOnly() bool {
	l, ok := c.Embedder.(interface{ LexicalOnly() bool })
	return ok && l.LexicalOnly()
}

func lexical(t testing.TB, dim int) *countingEmbedder {
	t.Helper()
	l, err := embed.NewLexical(dim)
	if err != nil {
		t.Fatal(err)
	}
	return &countingEmbedder{Embedder: l}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func open(t testing.TB, dir string, emb memory.Embedder, inMemory bool) *memory.Store {
	t.Helper()
	s, err := memory.Open(context.Background(), dir, memory.Options{Embedder: emb, InMemory: inMemory,
		Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func closeStore(t testing.TB, s *memory.Store) {
	t.Helper()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

var facts = []string{
	"The deploy key for the staging cluster rotates every 30 days.",
	"Alice prefers tea over coffee in the morning.",
	"The database migration failed because the disk was full.",
	"Bob's birthday is on the 14th of March.",
	"Use port 8443 for the internal dashboard.",
	"The cat is named Whiskers and likes tuna.",
	"Quarterly revenue grew by twelve percent.",
	"The backup job runs nightly at 02:00 UTC.",
}

func put(t testing.TB, s *memory.Store, text string, meta memory.Meta) memory.Record {
	t.Helper()
	r, _, err := s.Put(context.Background(), text, meta, 7)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ids(hits []memory.Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.Record.Text)
	}
	return out
}

func TestContentID(t *testing.T) {
	// BLAKE3-256 test vector of the empty input.
	if got := memory.ContentID(""); got != "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262" {
		t.Fatalf("got %s", got)
	}
}

func TestPutIdempotent(t *testing.T) {
	for _, inMem := range []bool{false, true} {
		t.Run(fmt.Sprint("inMemory=", inMem), func(t *testing.T) {
			emb := lexical(t, 0)
			s := open(t, t.TempDir(), emb, inMem)
			defer closeStore(t, s)
			ctx := context.Background()
			r1, created, err := s.Put(ctx, facts[0], memory.Meta{Agent: "a1", Tags: []string{"ops", " ", "ops", "keys"}}, 3)
			if err != nil || !created {
				t.Fatalf("first put: %v %v", created, err)
			}
			if r1.ID != memory.ContentID(facts[0]) || r1.ChainSeq != 3 || !r1.Meta.Time.Equal(t0) ||
				!slices.Equal(r1.Meta.Tags, []string{"keys", "ops"}) {
				t.Fatalf("record %+v", r1)
			}
			r2, created, err := s.Put(ctx, facts[0], memory.Meta{Agent: "other"}, 9)
			if err != nil || created || r2.ID != r1.ID || r2.Meta.Agent != "a1" || r2.ChainSeq != 3 {
				t.Fatalf("second put: %+v %v %v", r2, created, err)
			}
			res, err := s.PutMany(ctx, []memory.Item{{Text: facts[1]}, {Text: facts[1]}, {Text: "  "}, {Text: "!!!"},
				{Text: strings.Repeat("x", memory.MaxTextBytes+1)}})
			if err != nil {
				t.Fatal(err)
			}
			if !res[0].Created || res[1].Created || res[1].Record.ID != res[0].Record.ID ||
				!errors.Is(res[2].Err, memory.ErrEmptyText) || !errors.Is(res[3].Err, memory.ErrNoEmbedding) ||
				!errors.Is(res[4].Err, memory.ErrTooLarge) {
				t.Fatalf("PutMany results %+v", res)
			}
			st, err := s.Stats(ctx)
			if err != nil || st.Records != 2 || st.Indexed != 2 {
				t.Fatalf("stats %+v %v", st, err)
			}
		})
	}
}

func TestRoundTripLoadsIndex(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	emb := lexical(t, 0)
	s := open(t, dir, emb, false)
	for i, f := range facts {
		put(t, s, f, memory.Meta{Agent: fmt.Sprint("agent", i%2), Session: "s1"})
	}
	before, err := s.Search(ctx, "when does the backup run", 3, memory.Filter{})
	if err != nil || len(before) != 3 || before[0].Record.Text != facts[7] {
		t.Fatalf("search: %v %v", ids(before), err)
	}
	if st, _ := s.Stats(ctx); st.IndexSource != "new" || !st.Persistent {
		t.Fatalf("stats %+v", st)
	}
	closeStore(t, s)
	if _, err := os.Stat(filepath.Join(dir, "memory.hnsw")); err != nil {
		t.Fatal(err)
	}

	emb2 := lexical(t, 0)
	s = open(t, dir, emb2, false)
	defer closeStore(t, s)
	st, err := s.Stats(ctx)
	if err != nil || st.IndexSource != "loaded" || st.Records != len(facts) || st.Indexed != len(facts) ||
		st.Embedder != "lexical-v1/384" || st.Dim != 384 {
		t.Fatalf("stats after reopen %+v %v", st, err)
	}
	if n := emb2.texts.Load(); n != 0 {
		t.Fatalf("Open embedded %d texts", n)
	}
	after, err := s.Search(ctx, "when does the backup run", 3, memory.Filter{})
	if err != nil || !slices.Equal(ids(before), ids(after)) {
		t.Fatalf("results changed: %v vs %v (%v)", ids(before), ids(after), err)
	}
	rec, err := s.Get(ctx, memory.ContentID(facts[3]))
	if err != nil || rec.Text != facts[3] || len(rec.Embedding) != 384 || rec.Meta.Agent != "agent1" || rec.ChainSeq != 7 {
		t.Fatalf("get %+v %v", rec, err)
	}
}

func TestIndexRebuiltWhenStale(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string, oldIndex []byte)
	}{
		{"missing", func(t *testing.T, dir string, _ []byte) { os.Remove(filepath.Join(dir, "memory.hnsw")) }},
		{"corrupt", func(t *testing.T, dir string, _ []byte) {
			os.WriteFile(filepath.Join(dir, "memory.hnsw"), []byte("WEFTHNSW garbage"), 0o600)
		}},
		{"older generation", func(t *testing.T, dir string, old []byte) {
			os.WriteFile(filepath.Join(dir, "memory.hnsw"), old, 0o600)
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
			old, err := os.ReadFile(filepath.Join(dir, "memory.hnsw"))
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
			if st.IndexSource != "rebuilt" || st.Indexed != len(facts) || emb.texts.Load() != 0 {
				t.Fatalf("stats %+v, embedded %d", st, emb.texts.Load())
			}
			hits, err := s.Search(ctx, "Whiskers the cat", 1, memory.Filter{})
			if err != nil || len(hits) != 1 || hits[0].Record.Text != facts[5] {
				t.Fatalf("search after rebuild: %v %v", ids(hits), err)
			}
			closeStore(t, s)
			s = open(t, dir, lexical(t, 0), false) // the rebuilt index was saved
			defer closeStore(t, s)
			if st, _ := s.Stats(ctx); st.IndexSource != "loaded" {
				t.Fatalf("second reopen: %+v", st)
			}
		})
	}
}

func TestFiltersAndScopes(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), lexical(t, 0), true)
	defer closeStore(t, s)
	type rec struct {
		text string
		meta memory.Meta
	}
	recs := []rec{
		{"alpha project deadline is friday", memory.Meta{Agent: "a", Session: "s1", Source: "chat", Tags: []string{"work"}}},
		{"alpha project budget is ten thousand", memory.Meta{Agent: "a", Session: "s2", Source: "doc", Tags: []string{"work", "money"}}},
		{"alpha project owner is carol", memory.Meta{Agent: "b", Session: "s1", Source: "chat", Shared: true}},
		{"alpha project repo is on the git server", memory.Meta{Agent: "b", Session: "s3", Source: "chat"}},
		{"alpha project kickoff was in june", memory.Meta{Agent: "c", Session: "s1", Source: "doc", Tags: []string{"work"}, Shared: true}},
	}
	for _, r := range recs {
		put(t, s, r.text, r.meta)
	}
	tests := []struct {
		name    string
		filter  memory.Filter
		want    []int // indexes into recs, any order
		wantErr error
	}{
		{"all", memory.Filter{}, []int{0, 1, 2, 3, 4}, nil},
		{"agent equality", memory.Filter{Agent: "b"}, []int{2, 3}, nil},
		{"own", memory.Filter{Agent: "a", Scope: memory.ScopeOwn}, []int{0, 1}, nil},
		{"shared", memory.Filter{Agent: "a", Scope: memory.ScopeShared}, []int{0, 1, 2, 4}, nil},
		{"shared other agent", memory.Filter{Agent: "b", Scope: memory.ScopeShared}, []int{2, 3, 4}, nil},
		{"shared unknown agent", memory.Filter{Agent: "z", Scope: memory.ScopeShared}, []int{2, 4}, nil},
		{"session", memory.Filter{Session: "s1"}, []int{0, 2, 4}, nil},
		{"source", memory.Filter{Source: "doc"}, []int{1, 4}, nil},
		{"tags all required", memory.Filter{Tags: []string{"work", "money"}}, []int{1}, nil},
		{"tag", memory.Filter{Tags: []string{"work"}}, []int{0, 1, 4}, nil},
		{"shared and session", memory.Filter{Agent: "a", Scope: memory.ScopeShared, Session: "s1"}, []int{0, 2, 4}, nil},
		{"nothing matches", memory.Filter{Session: "nope"}, nil, nil},
		{"none", memory.Filter{Agent: "a", Scope: memory.ScopeNone}, nil, memory.ErrNoAccess},
		{"own without agent", memory.Filter{Scope: memory.ScopeOwn}, nil, memory.ErrInvalidFilter},
		{"unknown scope", memory.Filter{Scope: 42}, nil, memory.ErrInvalidFilter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits, err := s.Search(ctx, "alpha project", 10, tc.filter)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v want %v", err, tc.wantErr)
			}
			var got, want []string
			for _, h := range hits {
				got = append(got, h.Record.Text)
			}
			for _, i := range tc.want {
				want = append(want, recs[i].text)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("got %q\nwant %q", got, want)
			}
		})
	}
	// a selective filter still fills k when enough records match
	hits, err := s.Search(ctx, "alpha project", 1, memory.Filter{Agent: "c", Scope: memory.ScopeOwn})
	if err != nil || len(hits) != 1 || hits[0].Record.Text != recs[4].text {
		t.Fatalf("k=1 own: %v %v", ids(hits), err)
	}
	for _, k := range []int{0, memory.MaxK + 1} {
		if _, err := s.Search(ctx, "x", k, memory.Filter{}); !errors.Is(err, memory.ErrInvalidOptions) {
			t.Errorf("k=%d: %v", k, err)
		}
	}
	if hits, err := s.Search(ctx, "?!", 5, memory.Filter{}); err != nil || len(hits) != 0 {
		t.Errorf("empty query: %v %v", hits, err)
	}
}

func TestParseScope(t *testing.T) {
	for _, sc := range []memory.Scope{memory.ScopeAll, memory.ScopeOwn, memory.ScopeShared, memory.ScopeNone} {
		got, err := memory.ParseScope(sc.String())
		if err != nil || got != sc {
			t.Errorf("%v: %v %v", sc, got, err)
		}
	}
	if _, err := memory.ParseScope("everyone"); !errors.Is(err, memory.ErrInvalidFilter) {
		t.Error(err)
	}
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	for _, inMem := range []bool{false, true} {
		t.Run(fmt.Sprint("inMemory=", inMem), func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, lexical(t, 0), inMem)
			for _, f := range facts {
				put(t, s, f, memory.Meta{})
			}
			id := memory.ContentID(facts[5])
			if err := s.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, id); !errors.Is(err, memory.ErrNotFound) {
				t.Fatalf("second delete: %v", err)
			}
			if err := s.Delete(ctx, "not-an-id"); !errors.Is(err, memory.ErrNotFound) {
				t.Fatalf("bad id: %v", err)
			}
			if _, err := s.Get(ctx, id); !errors.Is(err, memory.ErrNotFound) {
				t.Fatalf("get deleted: %v", err)
			}
			// Neither the lexical index nor the vectors return it; the
			// others are still found by their own words.
			for _, w := range []memory.Weights{{BM25: 1}, {Vector: 1}} {
				if hits, err := s.SearchWith(ctx, facts[5], 10, memory.Filter{}, memory.SearchOptions{Weights: &w}); err != nil || slices.Contains(ids(hits), facts[5]) {
					t.Fatalf("search after delete (%+v): %v %v", w, ids(hits), err)
				}
				for i, f := range facts {
					hits, err := s.SearchWith(ctx, f, 1, memory.Filter{}, memory.SearchOptions{Weights: &w})
					if i != 5 && (err != nil || len(hits) != 1 || hits[0].Record.Text != f) {
						t.Fatalf("search %q after delete (%+v): %v %v", f, w, ids(hits), err)
					}
				}
			}
			st, _ := s.Stats(ctx)
			if st.Records != len(facts)-1 || st.Indexed != len(facts)-1 || st.Tombstones != 1 {
				t.Fatalf("stats %+v", st)
			}
			// a deleted text can be stored again
			if _, created, err := s.Put(ctx, facts[5], memory.Meta{}, 0); err != nil || !created {
				t.Fatalf("re-put: %v %v", created, err)
			}
			if err := s.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
			closeStore(t, s)
			if inMem {
				return
			}
			s = open(t, dir, lexical(t, 0), false)
			defer closeStore(t, s)
			st, _ = s.Stats(ctx)
			if st.IndexSource != "loaded" || st.Records != len(facts)-1 || st.Indexed != len(facts)-1 {
				t.Fatalf("stats after reopen %+v", st)
			}
			if _, err := s.Get(ctx, id); !errors.Is(err, memory.ErrNotFound) {
				t.Fatalf("get deleted after reopen: %v", err)
			}
		})
	}
}

func TestEmbedderMismatchAndReembed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, lexical(t, 0), false)
	for _, f := range facts {
		put(t, s, f, memory.Meta{Agent: "a"})
	}
	closeStore(t, s)

	small := lexical(t, 64)
	_, err := memory.Open(ctx, dir, memory.Options{Embedder: small})
	var me *memory.EmbedderMismatchError
	if !errors.Is(err, memory.ErrEmbedderMismatch) || !errors.As(err, &me) ||
		me.Stored != "lexical-v1/384" || me.Configured != "lexical-v1/64" || !strings.Contains(err.Error(), "re-embed") {
		t.Fatalf("err %v", err)
	}

	s, err = memory.Open(ctx, dir, memory.Options{Embedder: small, AllowEmbedderMismatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Search(ctx, "cat", 3, memory.Filter{}); !errors.Is(err, memory.ErrEmbedderMismatch) {
		t.Fatalf("search while mismatched: %v", err)
	}
	if _, _, err := s.Put(ctx, "new fact", memory.Meta{}, 0); !errors.Is(err, memory.ErrEmbedderMismatch) {
		t.Fatalf("put while mismatched: %v", err)
	}
	if _, err := s.Get(ctx, memory.ContentID(facts[0])); err != nil {
		t.Fatalf("get while mismatched: %v", err)
	}
	var calls [][2]int
	if err := s.Reembed(ctx, small, func(done, total int) { calls = append(calls, [2]int{done, total}) }); err != nil {
		t.Fatal(err)
	}
	if len(calls) == 0 || calls[len(calls)-1] != [2]int{len(facts), len(facts)} {
		t.Fatalf("progress %v", calls)
	}
	hits, err := s.Search(ctx, "Whiskers the cat", 1, memory.Filter{Agent: "a", Scope: memory.ScopeOwn})
	if err != nil || len(hits) != 1 || hits[0].Record.Text != facts[5] {
		t.Fatalf("search after reembed: %v %v", ids(hits), err)
	}
	rec, _ := s.Get(ctx, memory.ContentID(facts[5]))
	if len(rec.Embedding) != 64 {
		t.Fatalf("embedding dim %d", len(rec.Embedding))
	}
	closeStore(t, s)

	// The store now belongs to the new embedder, with its index saved.
	emb := lexical(t, 64)
	s = open(t, dir, emb, false)
	defer closeStore(t, s)
	st, _ := s.Stats(ctx)
	if st.Embedder != "lexical-v1/64" || st.Dim != 64 || st.IndexSource != "loaded" || emb.texts.Load() != 0 {
		t.Fatalf("stats %+v", st)
	}
	if _, err := memory.Open(ctx, t.TempDir(), memory.Options{}); !errors.Is(err, memory.ErrInvalidOptions) {
		t.Fatalf("no embedder: %v", err)
	}
}

// failingEmbedder fails after n texts.
type failingEmbedder struct {
	memory.Embedder
	left int
}

func (f *failingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if f.left -= len(texts); f.left < 0 {
		return nil, errors.New("embedder down")
	}
	return f.Embedder.Embed(ctx, texts)
}

func TestReembedFailureKeepsOldVectors(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), lexical(t, 0), false)
	defer closeStore(t, s)
	for i := range 100 {
		put(t, s, fmt.Sprintf("fact number %d about topic %d", i, i%7), memory.Meta{})
	}
	bad := &failingEmbedder{Embedder: lexical(t, 32), left: 70}
	if err := s.Reembed(ctx, bad, nil); err == nil {
		t.Fatal("reembed succeeded")
	}
	st, _ := s.Stats(ctx)
	if st.Embedder != "lexical-v1/384" || st.Indexed != 100 {
		t.Fatalf("stats %+v", st)
	}
	if hits, err := s.Search(ctx, "fact number 42", 1, memory.Filter{}); err != nil || len(hits) != 1 ||
		hits[0].Record.Text != "fact number 42 about topic 0" {
		t.Fatalf("search: %v %v", ids(hits), err)
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), lexical(t, 0), false)
	closeStore(t, s)
	closeStore(t, s) // idempotent
	if _, _, err := s.Put(ctx, "x", memory.Meta{}, 0); !errors.Is(err, memory.ErrClosed) {
		t.Error(err)
	}
	if _, err := s.Search(ctx, "x", 1, memory.Filter{}); !errors.Is(err, memory.ErrClosed) {
		t.Error(err)
	}
	if _, err := s.Stats(ctx); !errors.Is(err, memory.ErrClosed) {
		t.Error(err)
	}
}

func TestConcurrentPutSearch(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), lexical(t, 0), false)
	defer closeStore(t, s)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				if _, _, err := s.Put(ctx, fmt.Sprintf("worker %d note %d", w, i), memory.Meta{Agent: fmt.Sprint(w)}, 0); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Search(ctx, "note", 5, memory.Filter{Agent: fmt.Sprint(w), Scope: memory.ScopeOwn}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if st, _ := s.Stats(ctx); st.Records != 160 || st.Indexed != 160 {
		t.Fatalf("stats %+v", st)
	}
}

// TestSameTextTwoAgents: a text stored by a second agent stays one record
// and becomes visible to that agent under memory.ScopeOwn, across a reopen.
func TestSameTextTwoAgents(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	emb, err := embed.NewLexical(64)
	if err != nil {
		t.Fatal(err)
	}
	s, err := memory.Open(ctx, dir, memory.Options{Embedder: emb})
	if err != nil {
		t.Fatal(err)
	}
	text := "the vault key rotates weekly"
	a, created, err := s.Put(ctx, text, memory.Meta{Agent: "alice"}, 1)
	if err != nil || !created {
		t.Fatalf("alice: %v %v", created, err)
	}
	b, created, err := s.Put(ctx, text, memory.Meta{Agent: "bob"}, 2)
	if err != nil || created || b.ID != a.ID || b.Meta.Agent != "alice" || len(b.Meta.Owners) != 1 || b.Meta.Owners[0] != "bob" {
		t.Fatalf("bob: created=%v %+v %v", created, b.Meta, err)
	}
	see := func(s *memory.Store, agent string) int {
		hits, err := s.Search(ctx, "vault key", 5, memory.Filter{Agent: agent, Scope: memory.ScopeOwn})
		if err != nil {
			t.Fatal(err)
		}
		return len(hits)
	}
	if see(s, "bob") != 1 || see(s, "alice") != 1 || see(s, "carol") != 0 {
		t.Fatal("ownership not applied")
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s, err = memory.Open(ctx, dir, memory.Options{Embedder: emb})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if see(s, "bob") != 1 {
		t.Fatal("ownership lost across reopen")
	}
}
