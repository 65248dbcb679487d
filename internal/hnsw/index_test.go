package hnsw

import (
	"errors"
	"math"
	"testing"
)

func TestRecallAllDistances(t *testing.T) {
	const n, dim, k = 2000, 32, 10
	data := randomVectors(1, n, dim, 20)
	queries := randomVectors(2, 100, dim, 20)
	// Dot on vectors of varying norm is maximum inner product search,
	// which is not a metric: graph search needs a larger ef for the same
	// recall (hnswlib behaves the same way).
	cases := []struct {
		d  Distance
		ef int
	}{{L2, 64}, {Cosine, 64}, {Dot, 256}}
	for _, c := range cases {
		d := c.d
		t.Run(d.String(), func(t *testing.T) {
			x := buildIndex(t, Config{Dim: dim, Distance: d, M: 16, EfConstruction: 100, Seed: 7}, data)
			r := meanRecall(t, x, d, data, queries, k, c.ef, nil)
			t.Logf("%s recall@%d at ef=%d: %.4f", d, k, c.ef, r)
			if r < 0.95 {
				t.Fatalf("recall@%d = %.4f, want >= 0.95", k, r)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"zero dim", Config{}},
		{"huge dim", Config{Dim: MaxDim + 1}},
		{"M too small", Config{Dim: 4, M: 1}},
		{"M too big", Config{Dim: 4, M: MaxM + 1}},
		{"bad distance", Config{Dim: 4, Distance: 9}},
		{"negative ef", Config{Dim: 4, Ef: -1}},
		{"negative efc", Config{Dim: 4, EfConstruction: -3}},
		{"negative capacity", Config{Dim: 4, Capacity: -1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := New(c.cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New(%+v) = %v, want ErrInvalidConfig", c.cfg, err)
			}
		})
	}
}

func TestInsertErrors(t *testing.T) {
	x, err := New(Config{Dim: 3, Distance: Cosine})
	if err != nil {
		t.Fatal(err)
	}
	nan := float32(math.NaN())
	cases := []struct {
		name string
		vec  []float32
		want error
	}{
		{"short", []float32{1, 2}, ErrDimension},
		{"nan", []float32{1, nan, 2}, ErrInvalidVector},
		{"inf", []float32{1, float32(math.Inf(1)), 2}, ErrInvalidVector},
		{"zero under cosine", []float32{0, 0, 0}, ErrInvalidVector},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := x.Insert(1, c.vec); !errors.Is(err, c.want) {
				t.Fatalf("Insert = %v, want %v", err, c.want)
			}
			if _, err := x.Search(c.vec, 1); !errors.Is(err, c.want) {
				t.Fatalf("Search = %v, want %v", err, c.want)
			}
		})
	}
	if err := x.Insert(1, []float32{1, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if err := x.Insert(1, []float32{0, 1, 0}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate Insert = %v, want ErrExists", err)
	}
	if err := x.Delete(2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete(missing) = %v, want ErrNotFound", err)
	}
	if _, err := x.Search([]float32{1, 0, 0}, 0); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Search k=0 = %v, want ErrInvalidConfig", err)
	}
}

func TestEmptyAndSingle(t *testing.T) {
	x, err := New(Config{Dim: 2})
	if err != nil {
		t.Fatal(err)
	}
	got, err := x.Search([]float32{0, 0}, 5)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty search = %v, %v", got, err)
	}
	if err := x.Insert(42, []float32{3, 4}); err != nil {
		t.Fatal(err)
	}
	got, err = x.Search([]float32{0, 0}, 5)
	if err != nil || len(got) != 1 || got[0].Label != 42 || got[0].Distance != 25 {
		t.Fatalf("single search = %v, %v", got, err)
	}
}

func TestDistancesReported(t *testing.T) {
	cases := []struct {
		d    Distance
		v, q []float32
		want float32
	}{
		{L2, []float32{1, 2}, []float32{4, 6}, 25},
		{Dot, []float32{1, 2}, []float32{3, 4}, -11},
		{Cosine, []float32{2, 0}, []float32{0, 5}, 1},
		{Cosine, []float32{2, 0}, []float32{7, 0}, 0},
	}
	for _, c := range cases {
		t.Run(c.d.String(), func(t *testing.T) {
			x, err := New(Config{Dim: 2, Distance: c.d})
			if err != nil {
				t.Fatal(err)
			}
			if err := x.Insert(1, c.v); err != nil {
				t.Fatal(err)
			}
			got, err := x.Search(c.q, 1)
			if err != nil || len(got) != 1 {
				t.Fatalf("Search = %v, %v", got, err)
			}
			if math.Abs(float64(got[0].Distance-c.want)) > 1e-6 {
				t.Fatalf("distance = %v, want %v", got[0].Distance, c.want)
			}
		})
	}
}
