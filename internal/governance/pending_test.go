package governance

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestPendingApprove(t *testing.T) {
	clk := newFakeClock()
	var mu sync.Mutex
	var resolved []Resolution
	p := NewPending(PendingConfig{Clock: clk, OnResolve: func(_ PendingItem, r Resolution) {
		mu.Lock()
		resolved = append(resolved, r)
		mu.Unlock()
	}})
	defer p.Close(context.Background())
	ctx := context.Background()
	req := Request{Action: "capability.elevate", Agent: "a"}
	id, ch, err := p.Defer(ctx, "act-1", req, Decision{Outcome: Defer}, time.Time{})
	if err != nil || id != "act-1" {
		t.Fatalf("Defer: %q %v", id, err)
	}
	items := p.List()
	if len(items) != 1 || items[0].ID != "act-1" || !items[0].Deadline.Equal(clk.Now().Add(5*time.Minute)) {
		t.Fatalf("List: %+v", items)
	}
	waited := make(chan Resolution, 1)
	go func() {
		r, err := p.Wait(ctx, id)
		if err != nil {
			t.Error(err)
		}
		waited <- r
	}()
	if err := p.Approve(id, "operator"); err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if !r.Approved || r.By != "operator" || r.ID != id || r.Expired {
		t.Fatalf("resolution %+v", r)
	}
	if w := <-waited; w != r {
		t.Fatalf("Wait %+v != %+v", w, r)
	}
	if len(p.List()) != 0 {
		t.Fatal("resolved item still listed")
	}
	if err := p.Approve(id, "x"); !errors.Is(err, ErrAlreadyResolved) {
		t.Fatalf("second approve: %v", err)
	}
	if err := p.Reject("nope", "x", ""); !errors.Is(err, ErrUnknownPending) {
		t.Fatalf("unknown: %v", err)
	}
	// The deadline timer was stopped: advancing past it changes nothing.
	clk.Advance(time.Hour)
	mu.Lock()
	defer mu.Unlock()
	if len(resolved) != 1 {
		t.Fatalf("OnResolve calls: %+v", resolved)
	}
}

func TestPendingRejectAndExpire(t *testing.T) {
	clk := newFakeClock()
	p := NewPending(PendingConfig{Clock: clk, Max: 2})
	ctx := context.Background()
	dl := clk.Now().Add(time.Minute)
	id1, ch1, err := p.Defer(ctx, "", Request{Action: "a"}, Decision{Outcome: Defer}, dl)
	if err != nil || len(id1) != 16 {
		t.Fatalf("random id %q: %v", id1, err)
	}
	id2, ch2, err := p.Defer(ctx, "b", Request{Action: "b"}, Decision{Outcome: Defer}, dl.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Defer(ctx, "c", Request{}, Decision{}, dl); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("full: %v", err)
	}
	if err := p.Reject(id2, "op", "too risky"); err != nil {
		t.Fatal(err)
	}
	if r := <-ch2; r.Approved || r.Reason != "too risky" {
		t.Fatalf("reject: %+v", r)
	}
	if _, _, err := p.Defer(ctx, "b", Request{}, Decision{}, dl); !errors.Is(err, ErrDuplicateID) {
		t.Fatalf("dup id: %v", err)
	}
	clk.Advance(59 * time.Second)
	select {
	case r := <-ch1:
		t.Fatalf("resolved early: %+v", r)
	default:
	}
	clk.Advance(time.Second)
	r := <-ch1
	if r.Approved || !r.Expired || !r.At.Equal(dl) {
		t.Fatalf("expiry: %+v", r)
	}
	if err := p.Approve(id1, "late"); !errors.Is(err, ErrAlreadyResolved) {
		t.Fatalf("approve after expiry: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Defer(ctx, "z", Request{}, Decision{}, dl); !errors.Is(err, ErrQueueClosed) {
		t.Fatalf("closed: %v", err)
	}
}

func TestPendingCloseAndWaitCancel(t *testing.T) {
	clk := newFakeClock()
	p := NewPending(PendingConfig{Clock: clk, Keep: 1})
	ctx := context.Background()
	_, ch, err := p.Defer(ctx, "x", Request{}, Decision{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.Wait(cctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait cancelled: %v", err)
	}
	if _, _, err := p.Defer(cctx, "y", Request{}, Decision{}, time.Time{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Defer cancelled: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if r := <-ch; r.Approved || r.By != "shutdown" {
		t.Fatalf("close: %+v", r)
	}
	// Resolved items stay queryable up to Keep.
	if r, err := p.Wait(ctx, "x"); err != nil || r.By != "shutdown" {
		t.Fatalf("Wait after close: %+v %v", r, err)
	}
	if _, err := p.Wait(ctx, "never"); !errors.Is(err, ErrUnknownPending) {
		t.Fatalf("unknown wait: %v", err)
	}
}

func TestPendingSystemClock(t *testing.T) {
	// The system clock's timer is stopped on approval: nothing leaks.
	p := NewPending(PendingConfig{})
	_, ch, err := p.Defer(context.Background(), "s", Request{}, Decision{}, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Approve("s", "op"); err != nil {
		t.Fatal(err)
	}
	if r := <-ch; !r.Approved {
		t.Fatal("not approved")
	}
}

// immediateClock fires timers whose delay is not positive synchronously,
// inside AfterFunc.
type immediateClock struct{ *fakeClock }

func (c immediateClock) AfterFunc(d time.Duration, f func()) func() bool {
	if d <= 0 {
		f()
		return func() bool { return false }
	}
	return c.fakeClock.AfterFunc(d, f)
}

func TestPendingPastDeadline(t *testing.T) {
	clk := immediateClock{newFakeClock()}
	p := NewPending(PendingConfig{Clock: clk})
	_, ch, err := p.Defer(context.Background(), "late", Request{}, Decision{}, clk.Now().Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if r := <-ch; !r.Expired || r.Approved {
		t.Fatalf("past deadline: %+v", r)
	}
	if len(p.List()) != 0 {
		t.Fatal("expired item listed")
	}
}
