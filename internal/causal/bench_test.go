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

// measure runs op, recording its wall time in ds and its thread CPU time
// in cs.
func measure(ds, cs *[]time.Duration, op func()) {
	c0 := threadCPU()
	start := time.Now()
	op()
	*ds = append(*ds, time.Since(start))
	*cs = append(*cs, threadCPU()-c0)
}

// cpuP99 reports the thread-CPU percentiles (where measurable).
func cpuP99(b *testing.B, cs []time.Duration) {
	if !haveThreadCPU {
		return
	}
	slices.Sort(cs)
	b.ReportMetric(float64(cs[len(cs)*99/100].Nanoseconds())/1e3, "cpu-p99-µs")
	b.ReportMetric(float64(cs[len(cs)/2].Nanoseconds())/1e3, "cpu-p50-µs")
}

// BenchmarkAddEdgeCycleCheck adds depends_on edges between random existing
// nodes of the 100k graph (cycle check included: those that would close a
// cycle are refused, and counted too).
func BenchmarkAddEdgeCycleCheck(b *testing.B) {
	g := benchGraph()
	rng := rand.New(rand.NewPCG(2, 2))
	ds, cs := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	t := newOpTimer()
	defer t.done()
	refused := 0
	b.ResetTimer()
	for range b.N {
		u := 1 + rng.IntN(99_999)
		v := rng.IntN(u)
		var err error
		measure(&ds, &cs, func() { _, _, err = g.Add(Edge{From: nid(u), To: nid(v), Type: DependsOn, Weight: 1}) })
		if err != nil {
			refused++
		}
	}
	b.StopTimer()
	p99(b, ds)
	cpuP99(b, cs)
	b.ReportMetric(float64(refused)/float64(b.N), "refused/op")
}

func BenchmarkDescendantsDepth3(b *testing.B) {
	g := benchGraph()
	rng := rand.New(rand.NewPCG(3, 3))
	ds, cs := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	t := newOpTimer()
	defer t.done()
	total := 0
	b.ResetTimer()
	for range b.N {
		var out []ID
		measure(&ds, &cs, func() { out, _ = g.Descendants(nid(1+rng.IntN(99_999)), 3, AsOf{}) })
		total += len(out)
	}
	b.StopTimer()
	p99(b, ds)
	cpuP99(b, cs)
	b.ReportMetric(float64(total)/float64(b.N), "nodes/op")
}

func BenchmarkPPR(b *testing.B) {
	g := benchGraph()
	rng := rand.New(rand.NewPCG(4, 4))
	ds, cs := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	t := newOpTimer()
	defer t.done()
	b.ResetTimer()
	for range b.N {
		seeds := map[ID]float64{}
		for range 5 {
			seeds[nid(1+rng.IntN(99_999))] = 1
		}
		measure(&ds, &cs, func() { g.PPR(seeds, PPROptions{K: 20}) })
	}
	b.StopTimer()
	p99(b, ds)
	cpuP99(b, cs)
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
	ds, cs := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	t := newOpTimer()
	defer t.done()
	refused := 0
	b.ResetTimer()
	for range b.N {
		u, v := rng.IntN(100_000), rng.IntN(100_000)
		if u == v {
			v = (v + 1) % 100_000
		}
		var err error
		measure(&ds, &cs, func() { _, _, err = g.Add(Edge{From: nid(u), To: nid(v), Type: DependsOn, Weight: 1}) })
		if err != nil {
			refused++
		}
	}
	b.StopTimer()
	p99(b, ds)
	cpuP99(b, cs)
	b.ReportMetric(float64(refused)/float64(b.N), "refused/op")
}
