package governance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Clock is the time source of the pending queue. AfterFunc must call f once
// after d unless the returned stop function is called first (stop reports
// whether it prevented the call).
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc.
func (SystemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// Errors of the pending queue.
var (
	ErrUnknownPending  = errors.New("governance: no such pending action")
	ErrAlreadyResolved = errors.New("governance: pending action already resolved")
	ErrQueueFull       = errors.New("governance: pending queue is full")
	ErrQueueClosed     = errors.New("governance: pending queue is closed")
	ErrDuplicateID     = errors.New("governance: pending id already in use")
)

// Resolution is the outcome of a deferred action.
type Resolution struct {
	ID       string    `json:"id"`
	Approved bool      `json:"approved"`
	Expired  bool      `json:"expired,omitempty"`
	By       string    `json:"by,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
}

// PendingItem is a deferred action awaiting a human.
type PendingItem struct {
	ID       string    `json:"id"`
	Request  Request   `json:"request"`
	Decision Decision  `json:"decision"`
	Created  time.Time `json:"created"`
	Deadline time.Time `json:"deadline"`
}

type pendingEntry struct {
	item PendingItem
	stop func() bool
	done chan struct{}
	out  chan Resolution
	res  Resolution
}

// PendingConfig configures a Pending queue.
type PendingConfig struct {
	Clock Clock        // nil: SystemClock
	Log   *slog.Logger // nil: discard
	// Max bounds the number of unresolved items (default 1024).
	Max int
	// DefaultTimeout is used when Defer gets a zero deadline (default 5 min).
	DefaultTimeout time.Duration
	// Keep is how many resolved items stay queryable by Wait (default 1024).
	Keep int
	// OnResolve, if set, is called (outside the queue's lock) with every
	// resolution, so the daemon can record a ResolutionRecord.
	OnResolve func(PendingItem, Resolution)
}

// Pending is the queue of deferred actions. A deferred action waits until a
// human approves or rejects it, or its deadline passes (which rejects it:
// the default is deny). It owns no goroutines: deadlines are clock timers.
type Pending struct {
	cfg    PendingConfig
	mu     sync.Mutex
	items  map[string]*pendingEntry
	order  []string // resolved ids, oldest first
	open   int
	closed bool
}

// NewPending returns an empty queue.
func NewPending(cfg PendingConfig) *Pending {
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Max <= 0 {
		cfg.Max = 1024
	}
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = 5 * time.Minute
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 1024
	}
	return &Pending{cfg: cfg, items: map[string]*pendingEntry{}}
}

// Defer queues req (decided d) until deadline (zero: now + DefaultTimeout).
// id names the item (the daemon passes the decision's action id); empty means
// a random id. The returned channel receives exactly one Resolution.
func (p *Pending) Defer(ctx context.Context, id string, req Request, d Decision, deadline time.Time) (string, <-chan Resolution, error) {
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	if id == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", nil, fmt.Errorf("governance: pending id: %w", err)
		}
		id = hex.EncodeToString(b[:])
	}
	now := p.cfg.Clock.Now()
	if deadline.IsZero() {
		deadline = now.Add(p.cfg.DefaultTimeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return "", nil, ErrQueueClosed
	case p.open >= p.cfg.Max:
		return "", nil, ErrQueueFull
	}
	if _, dup := p.items[id]; dup {
		return "", nil, fmt.Errorf("%w: %q", ErrDuplicateID, id)
	}
	e := &pendingEntry{
		item: PendingItem{ID: id, Request: req, Decision: d, Created: now, Deadline: deadline},
		done: make(chan struct{}),
		out:  make(chan Resolution, 1),
	}
	p.items[id] = e
	p.open++
	p.mu.Unlock()
	// The timer is armed outside the lock so that a Clock may fire it
	// immediately (a deadline already past) without deadlocking.
	stop := p.cfg.Clock.AfterFunc(deadline.Sub(now), func() {
		_ = p.resolve(id, Resolution{Expired: true, By: "deadline", Reason: "deadline passed without approval"}, false)
	})
	p.mu.Lock()
	if isClosed(e.done) {
		stop()
	} else {
		e.stop = stop
	}
	p.cfg.Log.Info("governance: action deferred", "id", id, "action", req.Action, "agent", req.Agent, "deadline", deadline)
	return id, e.out, nil
}

// Approve lets the deferred action run.
func (p *Pending) Approve(id, by string) error {
	return p.resolve(id, Resolution{Approved: true, By: by, Reason: "approved"}, true)
}

// Reject denies the deferred action.
func (p *Pending) Reject(id, by, reason string) error {
	if reason == "" {
		reason = "rejected"
	}
	return p.resolve(id, Resolution{By: by, Reason: reason}, true)
}

func (p *Pending) resolve(id string, r Resolution, stopTimer bool) error {
	p.mu.Lock()
	e, ok := p.items[id]
	switch {
	case !ok:
		p.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrUnknownPending, id)
	case isClosed(e.done):
		p.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrAlreadyResolved, id)
	}
	r.ID, r.At = id, p.cfg.Clock.Now()
	e.res = r
	close(e.done)
	e.out <- r
	p.open--
	p.order = append(p.order, id)
	for len(p.order) > p.cfg.Keep {
		delete(p.items, p.order[0])
		p.order = p.order[1:]
	}
	item, stop := e.item, e.stop
	p.mu.Unlock()
	if stopTimer && stop != nil {
		stop()
	}
	p.cfg.Log.Info("governance: deferred action resolved", "id", id, "approved", r.Approved, "expired", r.Expired, "by", r.By)
	if p.cfg.OnResolve != nil {
		p.cfg.OnResolve(item, r)
	}
	return nil
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Wait blocks until item id is resolved (or ctx ends) and returns its
// resolution. It works for items resolved recently too.
func (p *Pending) Wait(ctx context.Context, id string) (Resolution, error) {
	p.mu.Lock()
	e, ok := p.items[id]
	p.mu.Unlock()
	if !ok {
		return Resolution{}, fmt.Errorf("%w: %q", ErrUnknownPending, id)
	}
	select {
	case <-e.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return e.res, nil
	case <-ctx.Done():
		return Resolution{}, ctx.Err()
	}
}

// List returns the unresolved items, oldest first.
func (p *Pending) List() []PendingItem {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []PendingItem
	for _, e := range p.items {
		if !isClosed(e.done) {
			out = append(out, e.item)
		}
	}
	slices.SortFunc(out, func(a, b PendingItem) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Close rejects every unresolved item (reason "shutdown"), stops their
// timers and refuses new items.
func (p *Pending) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	var ids []string
	for id, e := range p.items {
		if !isClosed(e.done) {
			ids = append(ids, id)
		}
	}
	p.mu.Unlock()
	slices.Sort(ids)
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := p.resolve(id, Resolution{By: "shutdown", Reason: "queue closed"}, true); err != nil && !errors.Is(err, ErrAlreadyResolved) {
			return err
		}
	}
	return nil
}
