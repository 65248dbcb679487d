package tick

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/impulse"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

type recorder struct {
	mu      sync.Mutex
	batches [][]string
}

func (w *recorder) work(_ context.Context, b []impulse.Impulse) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var keys []string
	for _, i := range b {
		keys = append(keys, i.Key)
	}
	w.batches = append(w.batches, keys)
}

func (w *recorder) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.batches)
}

// TestRunnerIsEventDriven: it sleeps with no timer while nothing is
// pending, wakes on an impulse, ticks when the interval is due (or at once
// for a full batch), and is idle again afterwards.
func TestRunnerIsEventDriven(t *testing.T) {
	c := clock.NewFake(time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC))
	q := impulse.New(impulse.Options{Clock: c})
	w := &recorder{}
	r := New(Options[impulse.Impulse]{Queue: q, Work: w.work, Clock: c, Budget: time.Millisecond, Elapsed: func(time.Time) time.Duration { return 10 * time.Microsecond }})
	r.Start(context.Background())
	defer r.Close()
	if c.Pending() != 0 || r.Stats().Wakes != 0 {
		t.Fatal("a timer is armed with nothing pending")
	}
	for _, k := range []string{"b", "a", "c"} {
		q.Emit(k, "test", "")
	}
	waitFor(t, "a timer for the next tick", func() bool { return c.Pending() == 1 })
	if w.count() != 0 {
		t.Fatal("ticked before the interval")
	}
	c.Advance(time.Second)
	waitFor(t, "the tick", func() bool { return w.count() == 1 })
	if got := fmt.Sprint(w.batches[0]); got != "[b a c]" {
		t.Fatalf("batch %s, want HLC order", got)
	}
	waitFor(t, "idle again", func() bool { return c.Pending() == 0 && q.Len() == 0 })
	wakes := r.Stats().Wakes
	c.Advance(time.Hour)
	if r.Stats().Wakes != wakes {
		t.Fatal("woke while idle after a tick")
	}
	// After an idle hour the interval has long elapsed: the next impulse
	// is worked at once.
	q.Emit("late", "test", "")
	waitFor(t, "an immediate tick", func() bool { return w.count() == 2 })
	// A full batch does not wait for the interval either.
	waitFor(t, "the tick's end", func() bool { return r.Stats().Ticks == 2 })
	batch := r.Stats().State.Batch
	for i := range batch {
		q.Emit(fmt.Sprint("k", i), "test", "")
	}
	waitFor(t, "a full batch processed at once", func() bool { return w.count() == 3 })
	waitFor(t, "the tick's end", func() bool { return r.Stats().Ticks == 3 })
	st := r.Stats()
	if st.Processed != uint64(4+batch) || st.Overruns != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCalibrate(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	q := impulse.New(impulse.Options{Clock: c})
	n := 0
	r := New(Options[impulse.Impulse]{Queue: q, Clock: c, Elapsed: func(time.Time) time.Duration { n++; return time.Duration(n) * 100 * time.Microsecond }})
	r.Calibrate(context.Background(), make([]impulse.Impulse, CalibrationBatch), func(context.Context, []impulse.Impulse) {})
	st := r.Stats()
	// 20 ticks of 100 µs … 2 ms: p50 1.1 ms, p95 2 ms, budget 2 ms / 0.8.
	if st.CalibrationP50 != 1100*time.Microsecond || st.CalibrationP95 != 2*time.Millisecond || st.State.Budget != 2500*time.Microsecond {
		t.Fatalf("%+v", st)
	}
}
