package hnsw

import (
	"bytes"
	"sync"
	"testing"
)

var (
	benchOnce  sync.Once
	benchIdx   *Index
	benchData  [][]float32
	benchQuery [][]float32
)

// benchIndex builds a 20k × 128 clustered index once per test binary.
func benchIndex(b *testing.B) *Index {
	benchOnce.Do(func() {
		benchData = randomVectors(100, 20_000, 128, 200)
		benchQuery = randomVectors(101, 1000, 128, 200)
		benchIdx = buildIndex(b, Config{Dim: 128, M: 16, EfConstruction: 100, Seed: 1, Capacity: len(benchData)}, benchData)
	})
	return benchIdx
}

func BenchmarkSearchEf64(b *testing.B) {
	x := benchIndex(b)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := x.SearchWith(benchQuery[i%len(benchQuery)], 10, SearchOptions{Ef: 64}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkSearchFilteredHalf(b *testing.B) {
	x := benchIndex(b)
	even := func(l uint64) bool { return l%2 == 0 }
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := x.SearchWith(benchQuery[i%len(benchQuery)], 10, SearchOptions{Ef: 64, Filter: even}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkInsert(b *testing.B) {
	benchIndex(b)
	x, _ := New(Config{Dim: 128, M: 16, EfConstruction: 100, Seed: 2})
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if err := x.Insert(uint64(i), benchData[i%len(benchData)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkRead(b *testing.B) {
	x := benchIndex(b)
	var buf bytes.Buffer
	if _, err := x.WriteTo(&buf); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Read(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil {
			b.Fatal(err)
		}
	}
}
