package chain

import (
	"context"
	"sync"
	"testing"
	"time"
)

type countingObserver struct {
	mu                  sync.Mutex
	events, checkpoints int
	commits, syncs      int
	syncTime            time.Duration
}

func (o *countingObserver) Committed(events, checkpoints int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.commits++
	o.events += events
	o.checkpoints += checkpoints
}

func (o *countingObserver) Synced(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.syncs++
	o.syncTime += d
}

// TestObserver: every durable event is reported once, and every commit
// that wrote something was fsynced.
func TestObserver(t *testing.T) {
	cases := []struct {
		name    string
		batches []int
	}{
		{"single appends", []int{1, 1, 1}},
		{"batches", []int{5, 1, 12}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs := &countingObserver{}
			opts := testOptions(t)
			opts.Observer = obs
			l := openLog(t, t.TempDir(), opts)
			ctx := context.Background()
			want := 0
			for _, n := range c.batches {
				entries := make([]Entry, n)
				for i := range entries {
					entries[i] = Entry{Source: "test", Kind: "test.event", Payload: map[string]int{"i": i}}
				}
				if _, err := l.AppendBatch(ctx, entries); err != nil {
					t.Fatal(err)
				}
				want += n
			}
			closeLog(t, l) // the final checkpoint is a commit too
			obs.mu.Lock()
			defer obs.mu.Unlock()
			if obs.events != want {
				t.Fatalf("observed %d events, appended %d", obs.events, want)
			}
			if obs.commits == 0 || obs.commits > len(c.batches)+obs.checkpoints || obs.checkpoints == 0 || obs.syncs < obs.commits {
				t.Fatalf("commits %d, syncs %d, checkpoints %d for %d batches", obs.commits, obs.syncs, obs.checkpoints, len(c.batches))
			}
		})
	}
}
