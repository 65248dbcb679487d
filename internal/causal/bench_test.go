package causal

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// benchGraph is 100k nodes with out-degree 8: each node's edges go to
// earlier nodes (a provenance-like DAG), types mixed across the ordering
// types and mentions. Built once per process.
var benchGraph = sync.OnceValue(func() *Graph {
	const n, deg = 100_000, 8
	rng := rand.New(rand.NewPCG(1, 1))
	g := New()
	types := []Type{DerivedFrom, DependsOn, Follows, PartOf, Mentions, EvidenceFor, DerivedFrom, DependsOn}
	for i := 1; i < n; i++ {
		for k := range deg {
			j := rng.IntN(i)
			if i > 64 && k < 6 { // mostly local, like real provenance
				j = i - 1 - rng.IntN(64)
			}
			typ := types[k]
			from, to := i, j
			if typ == EvidenceFor {
				from, to = j, i
			}
			_, _, _ = g.Add(Edge{From: nid(from), To: nid(to), Type: typ, Weight: 1})
		}
	}
	return g
})

func p99(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds())/1e3, "p50-µs")
}

// BenchmarkAddEdgeCycleCheck adds depends_on edges between random existing
// nodes of the 100k graph (cycle check included: those that would close a
// cycle are refused, and counted too).
func BenchmarkAddEdgeCycleCheck(b *testing.B) {
	g := benchGraph()
	rng := rand.New(rand.NewPCG(2, 2))
	ds := make([]time.Duration, 0, b.N)
	refused := 0
	b.ResetTimer()
	for range b.N {
		u := 1 + rng.IntN(99_999)
		v := rng.IntN(u)
		start := time.Now()
		_, _, err := g.Add(Edge{From: nid(u), To: nid(v), Type: DependsOn, Weight: 1})
		ds = append(ds, time.Since(start))
		if err != nil {
			refused++
		}
	}
	b.StopTimer()
	p99(b, ds)
	b.ReportMetric(float64(refused)/float64(b.N), "refused/op")
}

func BenchmarkDescendantsDepth3(b *testing.B) {
	g := benchGraph()
	rng := rand.New(rand.NewPCG(3, 3))
	ds := make([]time.Duration, 0, b.N)
	total := 0
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		out, _ := g.Descendants(nid(1+rng.IntN(99_999)), 3, AsOf{})
		ds = append(ds, time.Since(start))
		total += len(out)
	}
	b.StopTimer()
	p99(b, ds)
	b.ReportMetric(float64(total)/float64(b.N), "nodes/op")
}

func BenchmarkPPR(b *testing.B) {
	g := benchGraph()
	rng := rand.New(rand.NewPCG(4, 4))
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		seeds := map[ID]float64{}
		for range 5 {
			seeds[nid(1+rng.IntN(99_999))] = 1
		}
		start := time.Now()
		g.PPR(seeds, PPROptions{K: 20})
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	p99(b, ds)
}

func BenchmarkInvalidate(b *testing.B) {
	g := benchGraph()
	rng := rand.New(rand.NewPCG(5, 5))
	b.ResetTimer()
	for i := range b.N {
		_, _, _ = g.Add(Edge{From: nid(200_000 + i), To: nid(rng.IntN(100_000)), Type: Contradicts, Weight: 1})
	}
}

// BenchmarkAddEdgeAnyDirection adds depends_on edges in random direction:
// half of them point against the graph's order, so the check searches
// (and most are refused as cycles).
func BenchmarkAddEdgeAnyDirection(b *testing.B) {
	g := benchGraph()
	rng := rand.New(rand.NewPCG(6, 6))
	ds := make([]time.Duration, 0, b.N)
	refused := 0
	b.ResetTimer()
	for range b.N {
		u, v := rng.IntN(100_000), rng.IntN(100_000)
		if u == v {
			v = (v + 1) % 100_000
		}
		start := time.Now()
		_, _, err := g.Add(Edge{From: nid(u), To: nid(v), Type: DependsOn, Weight: 1})
		ds = append(ds, time.Since(start))
		if err != nil {
			refused++
		}
	}
	b.StopTimer()
	p99(b, ds)
	b.ReportMetric(float64(refused)/float64(b.N), "refused/op")
}
