package tick

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/clock"
)

// Queue is what the runner needs of the impulse queue (the daemon plugs
// in *impulse.Queue): T is an impulse.
type Queue[T any] interface {
	Len() int
	// Emitted counts emissions so far (for the arrival rate).
	Emitted() uint64
	// Expire removes what has decayed; NextExpiry is the next to.
	Expire() int
	NextExpiry() (time.Time, bool)
	// Drain removes up to n pending items in order.
	Drain(n int) []T
	// Notify is signalled on every emission.
	Notify() <-chan struct{}
}

// Work processes one tick's batch.
type Work[T any] func(ctx context.Context, batch []T)

// Options configure a Runner.
type Options[T any] struct {
	Queue  Queue[T]
	Work   Work[T]
	Clock  clock.Clock
	Limits Limits
	Logger *slog.Logger
	// Budget, when set, skips calibration.
	Budget time.Duration
	// Elapsed measures compute time (default: the real monotonic clock;
	// tests inject one).
	Elapsed func(start time.Time) time.Duration
}

// Calibration sizes for Calibrate.
const (
	calibrationTicks = 20
	calibrationBatch = 64
	minBudget        = time.Millisecond
)

// Stats describe the runner.
type Stats struct {
	State       State         `json:"state"`
	Ticks       uint64        `json:"ticks"`
	Wakes       uint64        `json:"wakes"`
	Overruns    uint64        `json:"overruns"`
	Processed   uint64        `json:"processed"`
	Expired     uint64        `json:"expired"`
	LastCompute time.Duration `json:"last_compute"`
	// BudgetUse is the last tick's compute over the budget.
	BudgetUse float64 `json:"budget_use"`
	// Calibration: per-tick compute of a calibration batch at boot.
	CalibrationP50 time.Duration `json:"calibration_p50"`
	CalibrationP95 time.Duration `json:"calibration_p95"`
	Started        time.Time     `json:"started"`
}

// Runner is the tick loop.
type Runner[T any] struct {
	o      Options[T]
	mu     sync.Mutex
	stats  Stats
	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a runner; Start starts it.
func New[T any](o Options[T]) *Runner[T] {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Elapsed == nil {
		o.Elapsed = time.Since
	}
	o.Limits = o.Limits.withDefaults()
	r := &Runner[T]{o: o, wake: make(chan struct{}, 1)}
	r.stats.State = State{Interval: o.Limits.MaxInterval, Batch: calibrationBatch, Budget: max(o.Budget, minBudget)}
	return r
}

// CalibrationBatch is the size of the synthetic batch Calibrate wants.
const CalibrationBatch = calibrationBatch

// Calibrate measures the real work on a synthetic batch (of
// CalibrationBatch items, run on work, which must have no lasting effect)
// and sets the budget to the p95 tick over the headroom, at least 1 ms.
func (r *Runner[T]) Calibrate(ctx context.Context, batch []T, work Work[T]) {
	var ds []time.Duration
	for range calibrationTicks {
		start := time.Now()
		work(ctx, batch)
		ds = append(ds, r.o.Elapsed(start))
	}
	slices.Sort(ds)
	p50, p95 := ds[len(ds)/2], ds[len(ds)*95/100]
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.CalibrationP50, r.stats.CalibrationP95 = p50, p95
	r.stats.State.Budget = max(minBudget, time.Duration(float64(p95)/r.o.Limits.Headroom))
	r.stats.State.Cost = p50.Seconds() / float64(max(len(batch), 1))
	r.stats.State.Batch = max(1, int(r.o.Limits.Headroom*r.stats.State.Budget.Seconds()/r.stats.State.Cost))
}

// Stats returns a snapshot.
func (r *Runner[T]) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Start runs the loop until ctx ends or Close.
func (r *Runner[T]) Start(ctx context.Context) {
	ctx, r.cancel = context.WithCancel(ctx)
	r.done = make(chan struct{})
	r.mu.Lock()
	r.stats.Started = r.o.Clock.Now()
	r.mu.Unlock()
	last, emitted := r.stats.Started, r.o.Queue.Emitted()
	go func() {
		defer close(r.done)
		r.run(ctx, last, emitted)
	}()
}

// Close stops the loop and waits for it.
func (r *Runner[T]) Close() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
}

func (r *Runner[T]) kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// run is the loop: it sleeps until an impulse arrives, the next tick is
// due (only while impulses are pending) or the next expiry; with nothing
// pending it arms no timer at all.
func (r *Runner[T]) run(ctx context.Context, last time.Time, lastEmitted uint64) {
	q := r.o.Queue
	var timer clock.Timer
	var armedFor time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		st := r.Stats().State
		depth := q.Len()
		now := r.o.Clock.Now()
		var due time.Time
		switch {
		case depth >= st.Batch:
			due = now // a full batch is pending: no reason to wait
		case depth > 0:
			due = last.Add(st.Interval)
			if exp, ok := q.NextExpiry(); ok && exp.Before(due) {
				due = exp
			}
		}
		if !due.IsZero() && !due.After(now) {
			r.tick(ctx, now, last, &lastEmitted)
			last = now
			continue
		}
		if !due.Equal(armedFor) {
			if timer != nil {
				timer.Stop()
				timer = nil
			}
			if !due.IsZero() {
				timer = r.o.Clock.AfterFunc(due.Sub(now), r.kick)
			}
			armedFor = due
		}
		select {
		case <-ctx.Done():
			return
		case <-q.Notify():
		case <-r.wake:
			armedFor = time.Time{}
			timer = nil
		}
		r.mu.Lock()
		r.stats.Wakes++
		r.mu.Unlock()
	}
}

func (r *Runner[T]) tick(ctx context.Context, now, last time.Time, lastEmitted *uint64) {
	q := r.o.Queue
	st := r.Stats().State
	emitted := q.Emitted()
	arrived := int(emitted - *lastEmitted)
	*lastEmitted = emitted
	expired := q.Expire()
	batch := q.Drain(st.Batch)
	start := time.Now()
	if len(batch) > 0 {
		r.o.Work(ctx, batch)
	}
	compute := r.o.Elapsed(start)
	next := Control(st, Observation{Elapsed: now.Sub(last), Arrived: arrived, Processed: len(batch), Compute: compute, Depth: q.Len()}, r.o.Limits)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.State = next
	r.stats.Ticks++
	r.stats.Processed += uint64(len(batch))
	r.stats.Expired += uint64(expired)
	r.stats.LastCompute = compute
	r.stats.BudgetUse = compute.Seconds() / st.Budget.Seconds()
	if compute > st.Budget {
		r.stats.Overruns++
	}
}
