package memory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/memory"
)

var benchWords = strings.Fields(`deploy cluster key rotate backup nightly disk full database migration
	alice bob carol tea coffee birthday march port dashboard cat tuna revenue quarter growth
	server network latency memory agent session tool search index vector graph chain event
	kernel process signal supervisor restart budget cron schedule token budget context recall`)

func benchTexts(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for j := range 12 {
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(benchWords[r.IntN(len(benchWords))])
		}
		fmt.Fprintf(&b, " #%d", i)
		out[i] = b.String()
	}
	return out
}

// BenchmarkPutMany measures storing 64-text batches (lexical embedding,
// one bbolt transaction with fsync, HNSW inserts); ns/op is per text.
func BenchmarkPutMany(b *testing.B) {
	ctx := context.Background()
	s := open(b, b.TempDir(), lexical(b, 0), false)
	defer closeStore(b, s)
	texts := benchTexts(b.N)
	b.ResetTimer()
	for start := 0; start < len(texts); start += 64 {
		items := make([]memory.Item, 0, 64)
		for _, t := range texts[start:min(start+64, len(texts))] {
			items = append(items, memory.Item{Text: t})
		}
		if _, err := s.PutMany(ctx, items); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearch measures one query (embedding, HNSW search, record
// fetch) against 10,000 records, unfiltered and with a scope filter that
// passes a tenth of them.
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	s := open(b, b.TempDir(), lexical(b, 0), true)
	defer closeStore(b, s)
	texts := benchTexts(10000)
	items := make([]memory.Item, len(texts))
	for i, t := range texts {
		items[i] = memory.Item{Text: t, Meta: memory.Meta{Agent: fmt.Sprint("agent", i%10)}}
	}
	if _, err := s.PutMany(ctx, items); err != nil {
		b.Fatal(err)
	}
	queries := benchTexts(100)
	vectorOnly, bm25Only := memory.Weights{Vector: 1}, memory.Weights{BM25: 1}
	for _, bc := range []struct {
		name   string
		filter memory.Filter
		w      *memory.Weights
	}{
		{"unfiltered", memory.Filter{}, nil},
		{"own-scope-10pct", memory.Filter{Agent: "agent3", Scope: memory.ScopeOwn}, nil},
		{"unfiltered-bm25-only", memory.Filter{}, &bm25Only},
		{"unfiltered-vector-only", memory.Filter{}, &vectorOnly},
	} {
		b.Run(bc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := s.SearchWith(ctx, queries[i%len(queries)], 10, bc.filter, memory.SearchOptions{Weights: bc.w}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkOpen measures reopening a 10,000-record store (index loaded,
// not rebuilt).
func BenchmarkOpen(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	s := open(b, dir, lexical(b, 0), false)
	texts := benchTexts(10000)
	for start := 0; start < len(texts); start += 500 {
		items := make([]memory.Item, 0, 500)
		for _, t := range texts[start : start+500] {
			items = append(items, memory.Item{Text: t})
		}
		if _, err := s.PutMany(ctx, items); err != nil {
			b.Fatal(err)
		}
	}
	closeStore(b, s)
	for b.Loop() {
		s := open(b, dir, lexical(b, 0), false)
		if st, _ := s.Stats(ctx); st.IndexSource != "loaded" {
			b.Fatalf("index %s", st.IndexSource)
		}
		closeStore(b, s)
	}
}

// BenchmarkSearchGraph measures the graph walk on a store shaped like a
// conversation log: 10,000 records of 12 words from a Zipf-distributed
// vocabulary of 20,000 made-up words (so rare terms exist, as names do),
// in sessions of 20; defaults with and without the graph component.
func BenchmarkSearchGraph(b *testing.B) {
	ctx := context.Background()
	s := open(b, b.TempDir(), lexical(b, 0), true)
	defer closeStore(b, s)
	r := rand.New(rand.NewPCG(3, 4))
	z := rand.NewZipf(r, 1.1, 1, 19999)
	word := func() string { return fmt.Sprintf("w%dx", z.Uint64()) }
	text := func() string {
		var sb strings.Builder
		for j := range 12 {
			if j > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(word())
		}
		return sb.String()
	}
	items := make([]memory.Item, 10000)
	for i := range items {
		items[i] = memory.Item{Text: text() + fmt.Sprintf(" #%d", i), Meta: memory.Meta{Session: fmt.Sprint("s", i/20)}}
	}
	if _, err := s.PutMany(ctx, items); err != nil {
		b.Fatal(err)
	}
	queries := make([]string, 100)
	for i := range queries {
		queries[i] = word() + " " + word() + " " + word() + " " + word()
	}
	def := memory.DefaultWeightsFor(s.Embedder())
	off, _ := def.Without(memory.CompGraph)
	for _, bc := range []struct {
		name string
		w    memory.Weights
	}{{"defaults", def}, {"without-graph", off}} {
		b.Run(bc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := s.SearchWith(ctx, queries[i%len(queries)], 10, memory.Filter{}, memory.SearchOptions{Weights: &bc.w}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
