package annbench

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/weftos/weftos/internal/texmex"
)

// BenchmarkClustered100k is the docs/BENCHMARKS.md figure: 100,000
// clustered 128-d vectors (1,000 Gaussian clusters, texmex default seed),
// 1,000 queries, L2, M=16, efConstruction=200, build on 2 threads, search
// single-threaded one query at a time. It is heavy (≈ 25 s): run it alone,
//
//	go test ./internal/annbench -run '^$' -bench Clustered100k -benchtime 1x
func BenchmarkClustered100k(b *testing.B) {
	base, query, err := texmex.GenerateClustered(texmex.DefaultClusterConfig())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res, err := Run(context.Background(), Config{
			Base: &base, Query: &query, K: 10, Efs: []int{10, 20, 40, 80}, M: 16, EfConstruction: 200,
			Threads: 2, Seed: 1, IndexPath: filepath.Join(b.TempDir(), "bench.hnsw"),
		}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.BuildSeconds, "build-s")
		b.ReportMetric(res.LoadSeconds, "load-s")
		b.ReportMetric(float64(res.HeapBytes)/float64(res.VectorBytes+res.GraphBytes), "heap/raw")
		for i, p := range res.Points {
			b.Logf("ef=%d recall@10=%.4f qps=%.0f p99=%.0fµs", p.Ef, p.Recall, p.QPS, res.Latency[i].P99Micros)
		}
		b.ReportMetric(res.Points[2].Recall, "recall@ef40")
		b.ReportMetric(res.Points[2].QPS, "qps@ef40")
		b.ReportMetric(res.Latency[2].P99Micros, "p99-µs@ef40")
	}
}
