package memory_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/memory"
)

type searchObserver struct {
	mu    sync.Mutex
	calls []observed
}

type observed struct {
	hits int
	err  error
	d    time.Duration
}

func (o *searchObserver) Searched(d time.Duration, hits int, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, observed{hits: hits, err: err, d: d})
}

// TestObserverSeesEverySearch: successful and failed searches are each
// reported once, with the hits returned and the error.
func TestObserverSeesEverySearch(t *testing.T) {
	obs := &searchObserver{}
	s, err := memory.Open(context.Background(), t.TempDir(), memory.Options{Embedder: lexical(t, 64), InMemory: true, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, s)
	for _, f := range facts {
		put(t, s, f, memory.Meta{Agent: "a"})
	}
	cases := []struct {
		query   string
		k       int
		filter  memory.Filter
		wantErr error
	}{
		{"disk full migration", 3, memory.Filter{}, nil},
		{"tea", 1, memory.Filter{Agent: "a", Scope: memory.ScopeOwn}, nil},
		{"tea", 0, memory.Filter{}, memory.ErrInvalidOptions},
		{"tea", 1, memory.Filter{Scope: memory.ScopeNone}, memory.ErrNoAccess},
	}
	for i, c := range cases {
		hits, err := s.Search(context.Background(), c.query, c.k, c.filter)
		if !errors.Is(err, c.wantErr) {
			t.Fatalf("case %d: err %v, want %v", i, err, c.wantErr)
		}
		obs.mu.Lock()
		got := obs.calls[len(obs.calls)-1]
		n := len(obs.calls)
		obs.mu.Unlock()
		if n != i+1 || got.hits != len(hits) || !errors.Is(got.err, c.wantErr) || got.d < 0 {
			t.Fatalf("case %d: observed %d calls, last %+v; search returned %d hits, %v", i, n, got, len(hits), err)
		}
	}
}
