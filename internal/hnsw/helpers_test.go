package hnsw

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomVectors returns n vectors of dimension dim drawn around a few
// Gaussian clusters (so the graph has structure to exploit), seeded.
func randomVectors(seed uint64, n, dim, clusters int) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	centers := make([][]float32, clusters)
	for i := range centers {
		centers[i] = make([]float32, dim)
		for j := range centers[i] {
			centers[i][j] = float32(rng.NormFloat64())
		}
	}
	out := make([][]float32, n)
	for i := range out {
		c := centers[rng.IntN(clusters)]
		v := make([]float32, dim)
		for j := range v {
			v[j] = c[j] + float32(rng.NormFloat64()*0.5)
		}
		out[i] = v
	}
	return out
}

// bruteForce returns the labels (= indexes) of the k nearest vectors
// under d, skipping those for which skip returns true.
func bruteForce(d Distance, data [][]float32, q []float32, k int, skip func(int) bool) []uint64 {
	f := d.Func()
	qq := q
	if d == Cosine {
		qq = slices.Clone(q)
		Normalize(qq)
	}
	type hit struct {
		d float32
		i int
	}
	hits := make([]hit, 0, len(data))
	for i, v := range data {
		if skip != nil && skip(i) {
			continue
		}
		vv := v
		if d == Cosine {
			vv = slices.Clone(v)
			Normalize(vv)
		}
		hits = append(hits, hit{f(qq, vv), i})
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Compare(a.d, b.d) })
	out := make([]uint64, 0, k)
	for _, h := range hits[:min(k, len(hits))] {
		out = append(out, uint64(h.i))
	}
	return out
}

func recallOf(got []Result, want []uint64) float64 {
	if len(want) == 0 {
		return 1
	}
	set := make(map[uint64]bool, len(want))
	for _, w := range want {
		set[w] = true
	}
	hit := 0
	for _, g := range got {
		if set[g.Label] {
			hit++
		}
	}
	return float64(hit) / float64(len(want))
}

func buildIndex(t testing.TB, cfg Config, data [][]float32) *Index {
	t.Helper()
	x, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range data {
		if err := x.Insert(uint64(i), v); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

// meanRecall searches every query and returns the mean recall@k.
func meanRecall(t testing.TB, x *Index, d Distance, data, queries [][]float32, k, ef int, skip func(int) bool) float64 {
	t.Helper()
	var sum float64
	for _, q := range queries {
		got, err := x.SearchWith(q, k, SearchOptions{Ef: ef})
		if err != nil {
			t.Fatal(err)
		}
		sum += recallOf(got, bruteForce(d, data, q, k, skip))
	}
	return sum / float64(len(queries))
}
