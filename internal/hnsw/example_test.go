package hnsw_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/weftos/weftos/internal/hnsw"
)

func Example() {
	idx, err := hnsw.New(hnsw.Config{Dim: 3, Distance: hnsw.L2, M: 16, EfConstruction: 200, Seed: 1})
	if err != nil {
		panic(err)
	}
	vectors := map[uint64][]float32{
		1: {0, 0, 0},
		2: {1, 0, 0},
		3: {0, 2, 0},
		4: {5, 5, 5},
	}
	for label := uint64(1); label <= 4; label++ {
		if err := idx.Insert(label, vectors[label]); err != nil {
			panic(err)
		}
	}
	hits, _ := idx.Search([]float32{0.9, 0, 0}, 2)
	for _, h := range hits {
		fmt.Printf("label %d distance %.2f\n", h.Label, h.Distance)
	}
	// Output:
	// label 2 distance 0.01
	// label 1 distance 0.81
}

func ExampleIndex_SearchWith() {
	idx, _ := hnsw.New(hnsw.Config{Dim: 2, Distance: hnsw.Cosine})
	for label := uint64(0); label < 10; label++ {
		_ = idx.Insert(label, []float32{1, float32(label)})
	}
	// Only odd labels, and label 7 is deleted.
	_ = idx.Delete(7)
	odd := func(label uint64) bool { return label%2 == 1 }
	hits, _ := idx.SearchWith([]float32{1, 6.8}, 2, hnsw.SearchOptions{Ef: 32, Filter: odd})
	for _, h := range hits {
		fmt.Println(h.Label)
	}
	// Output:
	// 9
	// 5
}

func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "hnsw-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "memory.hnsw")

	idx, _ := hnsw.New(hnsw.Config{Dim: 2})
	_ = idx.Insert(7, []float32{1, 1})
	if err := idx.Save(path); err != nil {
		panic(err)
	}
	loaded, err := hnsw.Load(path)
	if err != nil {
		panic(err)
	}
	hits, _ := loaded.Search([]float32{1, 1.5}, 1)
	fmt.Println(hits[0].Label, hits[0].Distance)
	// Output:
	// 7 0.25
}
