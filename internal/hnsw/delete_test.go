package hnsw

import (
	"context"
	"errors"
	"sync"
	"testing"
)

func TestDeleteAndCompact(t *testing.T) {
	const n, dim, k = 2000, 24, 10
	data := randomVectors(21, n, dim, 16)
	queries := randomVectors(22, 60, dim, 16)
	x := buildIndex(t, Config{Dim: dim, M: 12, EfConstruction: 100, Seed: 3}, data)
	gone := func(i int) bool { return i%3 == 0 }
	for i := range n {
		if gone(i) {
			if err := x.Delete(uint64(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(stage string) {
		t.Helper()
		for _, q := range queries {
			got, err := x.SearchWith(q, k, SearchOptions{Ef: 64})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range got {
				if gone(int(r.Label)) {
					t.Fatalf("%s: deleted label %d returned", stage, r.Label)
				}
			}
		}
		r := meanRecall(t, x, L2, data, queries, k, 64, gone)
		t.Logf("%s: recall@%d of the live set = %.4f", stage, k, r)
		if r < 0.95 {
			t.Fatalf("%s: recall %.4f < 0.95", stage, r)
		}
	}
	check("tombstones")
	st := x.Stats()
	if st.Deleted != 667 || st.Live != n-667 || x.Len() != n-667 || x.Contains(0) || !x.Contains(1) {
		t.Fatalf("stats after delete: %+v", st)
	}
	if err := x.Compact(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	st = x.Stats()
	if st.Deleted != 0 || st.Nodes != n-667 || st.Live != n-667 {
		t.Fatalf("stats after compact: %+v", st)
	}
	check("compacted")
	// Labels deleted before compaction can be inserted again.
	if err := x.Insert(0, data[0]); err != nil {
		t.Fatal(err)
	}
	if got, _ := x.Search(data[0], 1); len(got) != 1 || got[0].Label != 0 {
		t.Fatalf("reinserted label not found: %v", got)
	}
}

func TestCompactCancelled(t *testing.T) {
	x := buildIndex(t, Config{Dim: 8, Seed: 1}, randomVectors(1, 300, 8, 4))
	_ = x.Delete(5)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := x.Compact(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Compact = %v, want context.Canceled", err)
	}
	if st := x.Stats(); st.Deleted != 1 || st.Nodes != 300 {
		t.Fatalf("cancelled compaction changed the index: %+v", st)
	}
}

func TestFilteredSearch(t *testing.T) {
	const n, dim, k = 2000, 24, 10
	data := randomVectors(31, n, dim, 16)
	queries := randomVectors(32, 60, dim, 16)
	x := buildIndex(t, Config{Dim: dim, M: 12, EfConstruction: 100, Seed: 5}, data)
	cases := []struct {
		name string
		keep func(uint64) bool
	}{
		{"even", func(l uint64) bool { return l%2 == 0 }},
		{"one in ten", func(l uint64) bool { return l%10 == 3 }},
		{"one in a hundred", func(l uint64) bool { return l%100 == 42 }},
		{"none", func(uint64) bool { return false }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			skip := func(i int) bool { return !c.keep(uint64(i)) }
			var sum float64
			for _, q := range queries {
				got, err := x.SearchWith(q, k, SearchOptions{Ef: 64, Filter: c.keep})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range got {
					if !c.keep(r.Label) {
						t.Fatalf("filtered-out label %d returned", r.Label)
					}
				}
				sum += recallOf(got, bruteForce(L2, data, q, k, skip))
			}
			r := sum / float64(len(queries))
			t.Logf("recall@%d with filter %q: %.4f", k, c.name, r)
			if r < 0.95 {
				t.Fatalf("recall %.4f < 0.95", r)
			}
		})
	}
}

// TestConcurrentInsertSearch runs inserts, searches and deletes at the same
// time; run with -race.
func TestConcurrentInsertSearch(t *testing.T) {
	const n, dim = 1200, 16
	data := randomVectors(41, n, dim, 8)
	x, err := New(Config{Dim: dim, M: 8, EfConstruction: 48, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	const writers = 4
	var wg sync.WaitGroup
	errc := make(chan error, writers+2)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += writers {
				if err := x.Insert(uint64(i), data[i]); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				if _, err := x.SearchWith(data[(i*7+r)%n], 5, SearchOptions{Filter: func(l uint64) bool { return l%2 == 0 }}); err != nil {
					errc <- err
					return
				}
				_ = x.Delete(uint64((i * 13) % n)) // may race with its insert: ErrNotFound is fine
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	st := x.Stats()
	if st.Nodes != n || st.Live+st.Deleted != n {
		t.Fatalf("stats after concurrent run: %+v", st)
	}
	// Every live vector must still be findable as its own nearest neighbour.
	miss := 0
	for i := range n {
		if !x.Contains(uint64(i)) {
			continue
		}
		got, err := x.SearchWith(data[i], 1, SearchOptions{Ef: 64})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || got[0].Distance != 0 {
			miss++
		}
	}
	if miss > n/100 {
		t.Fatalf("%d live vectors not found as their own nearest neighbour", miss)
	}
}
