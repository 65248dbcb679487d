package texmex_test

import (
	"bytes"
	"fmt"

	"github.com/weftos/weftos/internal/texmex"
)

func ExampleReadFvecs() {
	var buf bytes.Buffer
	_ = texmex.WriteFvecs(&buf, texmex.Vectors{Dim: 2, Data: []float32{1, 2, 3, 4}})
	v, err := texmex.ReadFvecs(&buf, 0)
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Len(), v.Dim, v.At(1))
	// Output: 2 2 [3 4]
}

func ExampleGenerateClustered() {
	base, queries, _ := texmex.GenerateClustered(texmex.ClusterConfig{N: 1000, Queries: 10, Dim: 32, Clusters: 20, Seed: 1})
	fmt.Println(base.Len(), queries.Len(), base.Dim)
	// Output: 1000 10 32
}
