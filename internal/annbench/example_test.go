package annbench_test

import (
	"context"
	"fmt"

	"github.com/weftos/weftos/internal/annbench"
	"github.com/weftos/weftos/internal/texmex"
)

func ExampleRun() {
	base, queries, _ := texmex.GenerateClustered(texmex.ClusterConfig{N: 2000, Queries: 50, Dim: 16, Clusters: 20, Seed: 1})
	res, err := annbench.Run(context.Background(), annbench.Config{
		Base: &base, Query: &queries, K: 10, Efs: []int{100}, M: 16, EfConstruction: 100, Threads: 1,
	}, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.N, res.Points[0].Ef, res.Points[0].Recall >= 0.95)
	// Output: 2000 100 true
}
