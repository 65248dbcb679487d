// Package impulse is ECC's impulse queue: short-lived signals (a chain
// event, a memory write, a message on an IPC topic) that the cognitive
// tick works through. The queue is bounded, ordered by a hybrid logical
// clock, and deduplicated by key — emitting a pending key again rehearses
// it. Each impulse's activation decays by ACT-R's base-level law
//
//	B(t) = ln Σ_j (t − t_j)^−d,   d = 0.5, ages in seconds,
//
// over its presentations t_j (the K most recent exactly, older ones by
// Petrov's 2006 approximation), and the impulse expires when B falls to
// the threshold τ. Expiry is scheduled, not scanned: each impulse's
// expiry time is solved for when it is emitted and kept in a heap. When
// the queue is full, the impulse with the lowest activation is evicted,
// and counted.
package impulse

import (
	"container/heap"
	"math"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/clock"
)

// Defaults.
const (
	DefaultCapacity  = 4096
	DefaultDecay     = 0.5
	DefaultThreshold = -2.3 // one presentation lives e^4.6 ≈ 99.5 s
	// K presentations are kept exactly; older ones are summarized.
	K = 8
	// minAge floors an age (seconds): a presentation is never infinitely
	// active.
	minAge = 1e-3
)

// Options configure a Queue.
type Options struct {
	Capacity  int
	Decay     float64 // d
	Threshold float64 // τ
	Clock     clock.Clock
}

// HLC is a hybrid logical clock stamp: physical time (Unix ns) and a
// logical counter that orders stamps taken within the same nanosecond
// (or when the physical clock steps back).
type HLC struct {
	Wall    int64  `json:"wall"`
	Logical uint32 `json:"logical"`
}

// Less orders stamps.
func (a HLC) Less(b HLC) bool {
	return a.Wall < b.Wall || (a.Wall == b.Wall && a.Logical < b.Logical)
}

// Impulse is one pending signal.
type Impulse struct {
	Key    string `json:"key"`
	Source string `json:"source"` // "chain", "memory", "topic", …
	Ref    string `json:"ref,omitempty"`
	// Stamp is the HLC stamp of its first emission: the queue's order.
	Stamp HLC `json:"stamp"`
	// Count is how many times it was emitted while pending.
	Count      int       `json:"count"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
	Activation float64   `json:"activation"` // at the time it was read
	Expires    time.Time `json:"expires"`
}

type item struct {
	Impulse
	recent [K]int64 // presentation times (Unix ns), ring, newest at recent[(n-1)%K]
	n      int      // presentations
	oldest int64    // first presentation
	expiry int64
	hi     int   // index in the expiry heap
	multi  bool  // presented more than once (in Queue.multi)
	prev   *item // HLC order (intrusive list)
	next   *item
}

// Stats counts the queue's life.
type Stats struct {
	Depth     int    `json:"depth"`
	Capacity  int    `json:"capacity"`
	Emitted   uint64 `json:"emitted"`
	Rehearsed uint64 `json:"rehearsed"`
	Expired   uint64 `json:"expired"`
	Evicted   uint64 `json:"evicted"`
	Drained   uint64 `json:"drained"`
}

// Queue is the impulse queue. Safe for concurrent use.
type Queue struct {
	mu         sync.Mutex
	opts       Options
	items      map[string]*item
	exp        expHeap
	head, tail *item
	multi      map[*item]struct{} // rehearsed impulses: their curves cross others'
	// Removed items, reused by Emit: at most Capacity, as many as a drain
	// of a full queue frees (a thousand agents' events arrive in waves).
	free   []*item
	last   HLC
	stats  Stats
	notify chan struct{}
}

// New returns an empty queue.
func New(o Options) *Queue {
	if o.Capacity <= 0 {
		o.Capacity = DefaultCapacity
	}
	if o.Decay <= 0 || o.Decay >= 1 {
		o.Decay = DefaultDecay
	}
	if o.Threshold == 0 {
		o.Threshold = DefaultThreshold
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	return &Queue{opts: o, items: make(map[string]*item, o.Capacity), multi: map[*item]struct{}{}, notify: make(chan struct{}, 1)}
}

// Notify is signalled (without blocking, coalesced) on every emission.
func (q *Queue) Notify() <-chan struct{} { return q.notify }

// stamp takes an HLC stamp at physical time now.
func (q *Queue) stamp(now int64) HLC {
	if now > q.last.Wall {
		q.last = HLC{Wall: now}
	} else {
		q.last.Logical++
	}
	return q.last
}

// Observe merges a stamp from elsewhere (another node's), so that later
// local stamps order after it.
func (q *Queue) Observe(remote HLC) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.last.Less(remote) {
		q.last = remote
	}
}

// Emit adds an impulse, or rehearses the pending one with the same key.
// It reports whether an impulse was evicted to make room.
func (q *Queue) Emit(key, source, ref string) (evicted bool) {
	q.mu.Lock()
	now := q.opts.Clock.Now()
	ns := now.UnixNano()
	q.stats.Emitted++
	if it, ok := q.items[key]; ok {
		q.stats.Rehearsed++
		it.present(ns)
		it.Count++
		it.Last = now
		if !it.multi {
			it.multi = true
			q.multi[it] = struct{}{}
		}
		it.expiry = q.solveExpiry(it)
		heap.Fix(&q.exp, it.hi)
		q.mu.Unlock()
		q.signal()
		return false
	}
	if len(q.items) >= q.opts.Capacity {
		q.evictLowest(ns)
		evicted = true
	}
	var it *item
	if n := len(q.free); n > 0 {
		it, q.free = q.free[n-1], q.free[:n-1]
	} else {
		it = new(item)
	}
	*it = item{Impulse: Impulse{Key: key, Source: source, Ref: ref, Stamp: q.stamp(ns), Count: 1, First: now, Last: now}, oldest: ns}
	it.present(ns)
	it.expiry = q.solveExpiry(it)
	q.items[key] = it
	heap.Push(&q.exp, it)
	if q.tail == nil {
		q.head, q.tail = it, it
	} else {
		it.prev, q.tail.next, q.tail = q.tail, it, it
	}
	q.mu.Unlock()
	q.signal()
	return evicted
}

func (q *Queue) signal() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (it *item) present(ns int64) {
	it.recent[it.n%K] = ns
	it.n++
}

// activation is B at ns (Unix ns).
func (q *Queue) activation(it *item, ns int64) float64 { return math.Log(q.sum(it, ns)) }

// sum is Σ age^−d at ns.
func (q *Queue) sum(it *item, ns int64) float64 {
	d := q.opts.Decay
	s := 0.0
	kept := min(it.n, K)
	oldestKept := ns
	for i := range kept {
		t := it.recent[i]
		s += pow(age(ns, t), -d)
		oldestKept = min(oldestKept, t)
	}
	if older := it.n - kept; older > 0 {
		// Petrov (2006): the older presentations spread evenly between the
		// first one and the oldest kept one.
		an, ak := age(ns, it.oldest), age(ns, oldestKept)
		if an-ak < 1e-9 {
			s += float64(older) * pow(an, -d)
		} else {
			s += float64(older) * (pow(an, 1-d) - pow(ak, 1-d)) / ((1 - d) * (an - ak))
		}
	}
	return s
}

func age(now, t int64) float64 { return max(float64(now-t)/1e9, minAge) }

func pow(x, y float64) float64 {
	switch y {
	case -0.5:
		return 1 / math.Sqrt(x)
	case 0.5:
		return math.Sqrt(x)
	}
	return math.Pow(x, y)
}

// solveExpiry returns the first nanosecond at which B ≤ τ. B decreases
// with time, so the root of Σ age^−d = e^τ is unique; with one
// presentation it is closed-form, otherwise Newton's method from the left
// (the sum is convex) brackets it, and the last nanosecond is settled
// exactly.
func (q *Queue) solveExpiry(it *item) int64 {
	target := math.Exp(q.opts.Threshold)
	d := q.opts.Decay
	last := it.recent[(it.n-1)%K]
	if it.n == 1 {
		life := math.Pow(target, -1/d) // seconds: age^−d = e^τ
		return q.settle(it, last+int64(math.Ceil(max(life, minAge)*1e9)), target)
	}
	// Every presentation is at least as old as the last and at most as
	// old as the first, so the root lies within the presentations' span
	// of first + L, with L the lifetime of n simultaneous presentations.
	life := math.Pow(float64(it.n)/target, 1/d) * 1e9
	// Newton in nanoseconds after the last presentation (float64 cannot
	// hold Unix nanoseconds exactly).
	off := max(float64(it.oldest-last)+life, minAge*1e9)
	ns := last + int64(off)
	for range 30 {
		ns = last + int64(off)
		f := q.sum(it, ns) - target
		if f <= 0 {
			break
		}
		df := 0.0 // per second
		for i := range min(it.n, K) {
			a := age(ns, it.recent[i])
			df += -d * pow(a, -d) / a
		}
		if older := it.n - min(it.n, K); older > 0 {
			a := age(ns, it.oldest)
			df += float64(older) * -d * pow(a, -d) / a
		}
		step := -f / df * 1e9
		if step < 1 {
			off++
		} else {
			off += step
		}
	}
	return q.settle(it, ns, target)
}

// settle returns the first nanosecond at which the sum is at or below
// target, starting from a guess that is usually exact to a nanosecond
// (then two evaluations), else by bisection.
func (q *Queue) settle(it *item, guess int64, target float64) int64 {
	at := func(ns int64) bool { return q.sum(it, ns) <= target }
	if at(guess) && !at(guess-1) {
		return guess
	}
	lo, hi := guess, guess // lo: above target; hi: at or below
	for step := int64(1); at(lo); step *= 2 {
		lo = guess - step
	}
	for step := int64(1); !at(hi); step *= 2 {
		hi = guess + step
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if at(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// evictLowest removes the impulse with the lowest activation now. Among
// impulses presented once, activation falls with age, so the lowest is
// the oldest (the first such in HLC order); rehearsed impulses' curves
// cross, so each is compared. The work is O(rehearsed impulses), and the
// eviction runs only when the queue is full.
func (q *Queue) evictLowest(ns int64) {
	var low *item
	lowS := math.Inf(1)
	for it := q.head; it != nil; it = it.next {
		if !it.multi {
			low, lowS = it, q.sum(it, ns)
			break
		}
	}
	for it := range q.multi {
		if s := q.sum(it, ns); s < lowS || (s == lowS && it.Stamp.Less(low.Stamp)) {
			low, lowS = it, s
		}
	}
	q.remove(low)
	q.stats.Evicted++
}

func (q *Queue) remove(it *item) {
	delete(q.items, it.Key)
	if it.multi {
		delete(q.multi, it)
	}
	heap.Remove(&q.exp, it.hi)
	if it.prev != nil {
		it.prev.next = it.next
	} else {
		q.head = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	} else {
		q.tail = it.prev
	}
	// Kept for the next Emit (an impulse a second per chain event
	// otherwise allocates one each).
	if len(q.free) < q.opts.Capacity {
		*it = item{}
		q.free = append(q.free, it)
	}
}

// Expire removes the impulses whose activation has fallen to the
// threshold by now, and returns how many.
func (q *Queue) Expire() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.opts.Clock.Now().UnixNano()
	n := 0
	for len(q.exp) > 0 && q.exp[0].expiry <= now {
		q.remove(q.exp[0])
		n++
	}
	q.stats.Expired += uint64(n)
	return n
}

// NextExpiry is when the next impulse expires.
func (q *Queue) NextExpiry() (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.exp) == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, q.exp[0].expiry), true
}

// Drain removes and returns up to n pending impulses in HLC order, with
// their activation now.
func (q *Queue) Drain(n int) []Impulse {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.opts.Clock.Now().UnixNano()
	out := make([]Impulse, 0, max(0, min(n, len(q.items))))
	for q.head != nil && len(out) < n {
		it := q.head
		imp := it.Impulse
		imp.Activation = q.activation(it, now)
		imp.Expires = time.Unix(0, it.expiry)
		out = append(out, imp)
		q.remove(it)
	}
	q.stats.Drained += uint64(len(out))
	return out
}

// Peek returns the pending impulse with key, with its activation now.
func (q *Queue) Peek(key string) (Impulse, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it, ok := q.items[key]
	if !ok {
		return Impulse{}, false
	}
	imp := it.Impulse
	imp.Activation = q.activation(it, q.opts.Clock.Now().UnixNano())
	imp.Expires = time.Unix(0, it.expiry)
	return imp, true
}

// Len is the number of pending impulses.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// Emitted counts emissions (new and rehearsals) so far.
func (q *Queue) Emitted() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stats.Emitted
}

// Stats returns the counters.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.stats
	s.Depth, s.Capacity = len(q.items), q.opts.Capacity
	return s
}

type expHeap []*item

func (h expHeap) Len() int { return len(h) }
func (h expHeap) Less(i, j int) bool {
	if h[i].expiry != h[j].expiry {
		return h[i].expiry < h[j].expiry
	}
	return h[i].Stamp.Less(h[j].Stamp)
}
func (h expHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hi, h[j].hi = i, j
}
func (h *expHeap) Push(x any) {
	it := x.(*item)
	it.hi = len(*h)
	*h = append(*h, it)
}
func (h *expHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
