package texmex

import (
	"fmt"
	"math/rand/v2"
)

// ClusterConfig describes a synthetic data set of Gaussian clusters.
type ClusterConfig struct {
	N        int     // base vectors (default 100,000)
	Queries  int     // query vectors (default 1,000)
	Dim      int     // dimension (default 128)
	Clusters int     // number of clusters (default 1,000)
	Seed     uint64  // RNG seed; the output is a pure function of the config
	Spread   float64 // std-dev of the cluster centres per axis (default 1)
	Sigma    float64 // std-dev of points around their centre per axis (default 0.25)
}

// DefaultClusterConfig is the benchmark set of docs/BENCHMARKS.md: 100,000
// base and 1,000 query vectors of dimension 128 in 1,000 Gaussian clusters.
func DefaultClusterConfig() ClusterConfig {
	return ClusterConfig{N: 100_000, Queries: 1_000, Dim: 128, Clusters: 1_000, Seed: 1, Spread: 1, Sigma: 0.25}
}

// GenerateClustered draws Clusters centres with components N(0, Spread²),
// then N base and Queries query vectors, each from a uniformly chosen
// centre plus N(0, Sigma²) noise per component. Queries come from the
// same distribution but are not copies of base vectors. Deterministic for
// a given config (PCG seeded with Seed).
func GenerateClustered(c ClusterConfig) (base, queries Vectors, err error) {
	def := DefaultClusterConfig()
	if c.N == 0 {
		c.N = def.N
	}
	if c.Queries == 0 {
		c.Queries = def.Queries
	}
	if c.Dim == 0 {
		c.Dim = def.Dim
	}
	if c.Clusters == 0 {
		c.Clusters = def.Clusters
	}
	if c.Spread == 0 {
		c.Spread = def.Spread
	}
	if c.Sigma == 0 {
		c.Sigma = def.Sigma
	}
	if c.N < 0 || c.Queries < 0 || c.Dim < 0 || c.Dim > MaxDim || c.Clusters < 0 || c.Spread < 0 || c.Sigma < 0 {
		return Vectors{}, Vectors{}, fmt.Errorf("texmex: invalid cluster config %+v", c)
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x7e3a3e5))
	centres := make([]float32, c.Clusters*c.Dim)
	for i := range centres {
		centres[i] = float32(rng.NormFloat64() * c.Spread)
	}
	draw := func(n int) Vectors {
		v := Vectors{Dim: c.Dim, Data: make([]float32, n*c.Dim)}
		for i := range n {
			k := rng.IntN(c.Clusters)
			ctr := centres[k*c.Dim : (k+1)*c.Dim]
			row := v.At(i)
			for j := range row {
				row[j] = ctr[j] + float32(rng.NormFloat64()*c.Sigma)
			}
		}
		return v
	}
	base = draw(c.N)
	queries = draw(c.Queries)
	return base, queries, nil
}
