package ecchost

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/impulse"
	"github.com/weftos/weftos/internal/jcs"
	"github.com/weftos/weftos/internal/tick"
)

// SalienceSize bounds the working set: the most active refs the tick has
// seen, by activation.
const SalienceSize = 256

// SyncFunc makes the causal graph durable when it has changed
// (force=false: at most as often as the owner allows).
type SyncFunc func(force bool) error

// EngineOptions configure StartEngine. Sync and Logger may be nil.
type EngineOptions struct {
	Clock  clock.Clock
	Logger *slog.Logger
	Sync   SyncFunc
}

// Engine is the ECC layer's running part: the impulse queue fed by the
// chain indexer, and the cognitive tick that works through it — keeping
// the working set (what is salient now) and making the causal graph
// durable at most once per tick.
type Engine struct {
	opts     EngineOptions
	queue    *impulse.Queue
	runner   *tick.Runner[impulse.Impulse]
	mu       sync.Mutex
	salient  map[string]apitype.EccSalient
	evictBuf []ranked // evictLeastActive's scratch, under mu
}

// StartEngine starts the impulse queue and the tick (calibrated, under
// ctx, on the real tick work against a scratch working set); the tick
// runs until run is cancelled or Close.
func StartEngine(ctx, run context.Context, opts EngineOptions) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{opts: opts, queue: impulse.New(impulse.Options{Clock: opts.Clock}), salient: map[string]apitype.EccSalient{}}
	e.runner = tick.New(tick.Options[impulse.Impulse]{Queue: e.queue, Clock: opts.Clock, Logger: opts.Logger,
		Work: func(ctx context.Context, batch []impulse.Impulse) { e.work(e.salient, batch, true) }})
	scratch := map[string]apitype.EccSalient{}
	now := opts.Clock.Now()
	sample := make([]impulse.Impulse, tick.CalibrationBatch)
	for i := range sample {
		sample[i] = impulse.Impulse{Key: "calibration:" + strconv.Itoa(i), Source: "calibration", Count: 1, First: now, Last: now}
	}
	e.runner.Calibrate(ctx, sample, func(ctx context.Context, batch []impulse.Impulse) { e.work(scratch, batch, false) })
	e.runner.Start(run)
	return e
}

// work is one tick's work: each impulse joins the working set with its
// activation (the least active leaves when it is full), and the graph's
// new edges are made durable (one fsync).
func (e *Engine) work(ws map[string]apitype.EccSalient, batch []impulse.Impulse, sync bool) {
	e.mu.Lock()
	for _, imp := range batch {
		s := ws[imp.Key]
		s.Key, s.Source, s.Ref, s.Activation, s.Count = imp.Key, imp.Source, imp.Ref, imp.Activation, s.Count+imp.Count
		s.Seen = imp.Last
		ws[imp.Key] = s
	}
	e.evictBuf = evictLeastActive(ws, SalienceSize, e.evictBuf)
	e.mu.Unlock()
	if sync && e.opts.Sync != nil {
		if err := e.opts.Sync(false); err != nil {
			e.opts.Logger.Error("syncing the causal graph failed", "err", err)
		}
	}
}

// evictLeastActive removes the least active entries of ws (ties: the
// smaller key first) until at most size remain: it selects them among the
// entries' (activation, key) pairs in linear expected time (a tick adds a
// batch to a full set, so most of the set stays and need not be sorted),
// with no map lookups in the comparisons. buf is scratch space, returned
// for the next call.
func evictLeastActive(ws map[string]apitype.EccSalient, size int, buf []ranked) []ranked {
	if len(ws) <= size {
		return buf
	}
	all := buf[:0]
	for k, s := range ws {
		all = append(all, ranked{s.Activation, k})
	}
	drop := len(all) - size
	selectLowest(all, drop)
	for _, r := range all[:drop] {
		delete(ws, r.key)
	}
	clear(all)
	return all[:0]
}

// ranked is a working-set entry's activation and key.
type ranked struct {
	act float64
	key string
}

// less orders by activation, then key (keys are unique: a total order).
func (a ranked) less(b ranked) bool {
	if a.act != b.act {
		return a.act < b.act
	}
	return a.key < b.key
}

// selectLowest reorders a so that a[:k] are its k lowest elements, in
// any order (quickselect, median-of-three pivots).
func selectLowest(a []ranked, k int) {
	if k <= 0 || k >= len(a) {
		return
	}
	t := k - 1 // a[t] becomes the k-th lowest; everything before it is lower
	lo, hi := 0, len(a)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if a[mid].less(a[lo]) {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi].less(a[lo]) {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[mid].less(a[hi]) {
			a[mid], a[hi] = a[hi], a[mid]
		}
		p, i := a[hi], lo // the median of the three, at hi
		for j := lo; j < hi; j++ {
			if a[j].less(p) {
				a[i], a[j] = a[j], a[i]
				i++
			}
		}
		a[i], a[hi] = a[hi], a[i]
		switch {
		case i == t:
			return
		case i < t:
			lo = i + 1
		default:
			hi = i - 1
		}
	}
}

// Emit queues one impulse (a repeat of a queued key rehearses it).
func (e *Engine) Emit(key, source, ref string) { e.queue.Emit(key, source, ref) }

// EmitEvents feeds the queue from indexed chain events: every event,
// memory writes (rehearsed when the same record is stored again), and
// messages on IPC topics.
func (e *Engine) EmitEvents(evs []chain.Event) {
	q := e.queue
	for _, ev := range evs {
		q.Emit("seq:"+strconv.FormatUint(ev.Seq, 10), "chain", ev.Kind)
		switch ev.Kind {
		case governance.KindMemoryStore:
			var rec governance.ActRecord
			var det governance.MemoryDetail
			if json.Unmarshal(ev.Payload, &rec) == nil && rec.OK && json.Unmarshal(rec.Detail, &det) == nil && det.ID != "" {
				q.Emit("memory:"+det.ID, "memory", rec.Session)
			}
		case governance.KindIPCSend:
			if target, err := jcs.MemberString(ev.Payload, "target"); err == nil && strings.HasPrefix(target, "topic:") {
				q.Emit(target, "topic", "")
			}
		}
	}
}

// Close stops the tick.
func (e *Engine) Close() { e.runner.Close() }

// Status is the tick's, the queue's and the working set's part of
// `weave ecc status` (the ten most salient refs); the graph and the index
// are the caller's to add.
func (e *Engine) Status() apitype.EccStatus {
	ts := e.runner.Stats()
	qs := e.queue.Stats()
	out := apitype.EccStatus{
		Interval: ts.State.Interval, Batch: ts.State.Batch, Budget: ts.State.Budget, BudgetUse: ts.BudgetUse,
		LastCompute: ts.LastCompute, ArrivalRate: ts.State.Rate, Ticks: ts.Ticks, Wakes: ts.Wakes, Overruns: ts.Overruns,
		CalibrationP50: ts.CalibrationP50, CalibrationP95: ts.CalibrationP95,
		Queue: apitype.EccQueue{Depth: qs.Depth, Capacity: qs.Capacity, Emitted: qs.Emitted, Rehearsed: qs.Rehearsed,
			Expired: qs.Expired, Evicted: qs.Evicted, Processed: qs.Drained},
	}
	if el := e.opts.Clock.Now().Sub(ts.Started).Seconds(); el > 0 {
		out.WakesPerSecond = float64(ts.Wakes) / el
	}
	e.mu.Lock()
	for _, s := range e.salient {
		out.Salient = append(out.Salient, s)
	}
	e.mu.Unlock()
	slices.SortFunc(out.Salient, func(a, b apitype.EccSalient) int {
		if a.Activation != b.Activation {
			if a.Activation > b.Activation {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Key, b.Key)
	})
	if len(out.Salient) > 10 {
		out.Salient = out.Salient[:10]
	}
	return out
}
