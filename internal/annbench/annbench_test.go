package annbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/hnsw"
	"github.com/weftos/weftos/internal/texmex"
)

func smallSet(t testing.TB) (texmex.Vectors, texmex.Vectors) {
	t.Helper()
	b, q, err := texmex.GenerateClustered(texmex.ClusterConfig{N: 1500, Queries: 40, Dim: 16, Clusters: 15, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	return b, q
}

func TestGroundTruthExact(t *testing.T) {
	base := texmex.Vectors{Dim: 1, Data: []float32{0, 10, 3, 7, -2}}
	query := texmex.Vectors{Dim: 1, Data: []float32{6, -5}}
	cases := []struct {
		d    hnsw.Distance
		want []int32
	}{
		{hnsw.L2, []int32{3, 2, 4, 0}},
		{hnsw.Dot, []int32{1, 3, 4, 0}},
	}
	for _, c := range cases {
		gt, err := GroundTruth(context.Background(), c.d, base, query, 2, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gt.Data, c.want) {
			t.Fatalf("%s: ground truth %v, want %v", c.d, gt.Data, c.want)
		}
	}
}

func TestRunInMemory(t *testing.T) {
	base, query := smallSet(t)
	var progress bytes.Buffer
	res, err := Run(context.Background(), Config{
		Base: &base, Query: &query, K: 10, Efs: []int{16, 64}, M: 12, EfConstruction: 80, Threads: 2, Seed: 1,
		IndexPath: filepath.Join(t.TempDir(), "i.hnsw"),
	}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Points) != 2 || res.Points[1].Ef != 64 || res.N != 1500 || res.Queries != 40 {
		t.Fatalf("result shape: %+v", res)
	}
	if res.Points[1].Recall < 0.95 || res.Points[1].QPS <= 0 {
		t.Fatalf("recall at ef=64 = %.3f (qps %.0f), want >= 0.95", res.Points[1].Recall, res.Points[1].QPS)
	}
	if res.FileBytes == 0 || res.VectorBytes != 1500*16*4 {
		t.Fatalf("sizes: %+v", res)
	}
	if !strings.Contains(progress.String(), "ef=64") {
		t.Fatalf("progress output: %q", progress.String())
	}
	b, err := json.Marshal(res.Points)
	if err != nil {
		t.Fatal(err)
	}
	var arr []map[string]float64
	if err := json.Unmarshal(b, &arr); err != nil || len(arr) != 2 || len(arr[0]) != 3 {
		t.Fatalf("points JSON %s: %v", b, err)
	}
	for _, key := range []string{"ef", "recall", "qps"} {
		if _, ok := arr[0][key]; !ok {
			t.Fatalf("points JSON %s lacks %q", b, key)
		}
	}
}

func TestRunErrors(t *testing.T) {
	base, query := smallSet(t)
	other := texmex.Vectors{Dim: 3, Data: []float32{1, 2, 3}}
	short := texmex.Ints{Dim: 1, Data: []int32{0}}
	cases := []struct {
		name string
		cfg  Config
	}{
		{"no base", Config{Query: &query}},
		{"no query", Config{Base: &base}},
		{"dim mismatch", Config{Base: &base, Query: &other}},
		{"bad ef", Config{Base: &base, Query: &query, Efs: []int{0}}},
		{"short gt", Config{Base: &base, Query: &query, GT: &short}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Run(context.Background(), c.cfg, nil); !errors.Is(err, ErrConfig) {
				t.Fatalf("Run = %v, want ErrConfig", err)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Config{Base: &base, Query: &query}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Run = %v", err)
	}
}

func TestCommandGenAndBench(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	ctx := context.Background()
	if err := Command(ctx, []string{"gen", "--out", dir, "--n", "800", "--queries", "20", "--dim", "8", "--clusters", "8", "--gt-k", "10"}, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	for _, f := range []string{"base.fvecs", "query.fvecs", "gt.ivecs"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	args := []string{"--base", filepath.Join(dir, "base.fvecs"), "--query", filepath.Join(dir, "query.fvecs"),
		"--gt", filepath.Join(dir, "gt.ivecs"), "--k", "5", "--ef", "8,32", "--m", "8", "--efc", "40", "--json"}
	if err := Command(ctx, args, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	var pts []Point
	if err := json.Unmarshal(out.Bytes(), &pts); err != nil || len(pts) != 2 || pts[1].Recall < 0.9 {
		t.Fatalf("--json output %q: %v", out.String(), err)
	}
	if err := Command(ctx, []string{"--ef", "a,b"}, &out, &errb); !errors.Is(err, ErrConfig) {
		t.Fatalf("bad --ef: %v", err)
	}
	if err := Command(ctx, []string{"gen"}, &out, &errb); !errors.Is(err, ErrConfig) {
		t.Fatalf("gen without --out: %v", err)
	}
}
