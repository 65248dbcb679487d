package chain

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestRecorder(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testOptions(t))
	rec := NewRecorder(l, nil, 16)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if err := rec.Record(context.Background(), fmt.Sprintf("w%d", w), "evt", map[string]int{"i": i}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	// An invalid entry is logged and skipped without losing its batch.
	if err := rec.Record(context.Background(), "bad\xff", "evt", nil); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := l.Len(); n != 200 {
		t.Fatalf("len after flush = %d, want 200", n)
	}
	perWorker := map[string]int{}
	for e, err := range l.Events(0, 200) {
		if err != nil {
			t.Fatal(err)
		}
		perWorker[e.Source]++
	}
	for w := range 4 {
		if perWorker[fmt.Sprintf("w%d", w)] != 50 {
			t.Fatalf("worker %d recorded %d events", w, perWorker[fmt.Sprintf("w%d", w)])
		}
	}
	if err := rec.Record(context.Background(), "late", "evt", nil); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l.Len() != 201 {
		t.Fatalf("Close did not drain the queue: len %d", l.Len())
	}
	if err := rec.Record(context.Background(), "s", "k", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Record after Close: %v", err)
	}
	closeLog(t, l)
}

// blockingAppender blocks until released, to fill the recorder's queue.
type blockingAppender struct {
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	n       int
}

func (b *blockingAppender) AppendBatch(ctx context.Context, entries []Entry) ([]Event, error) {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-b.release
	b.mu.Lock()
	b.n += len(entries)
	b.mu.Unlock()
	return make([]Event, len(entries)), nil
}

func TestRecorderBackpressure(t *testing.T) {
	app := &blockingAppender{entered: make(chan struct{}, 1), release: make(chan struct{})}
	rec := NewRecorder(app, nil, 2)
	if err := rec.Record(context.Background(), "s", "k", nil); err != nil {
		t.Fatal(err)
	}
	<-app.entered // the worker now blocks in AppendBatch
	accepted := 1
	for len(rec.queue) < cap(rec.queue) {
		if err := rec.Record(context.Background(), "s", "k", nil); err != nil {
			t.Fatal(err)
		}
		accepted++
	}
	// With the queue full, Record blocks until its context ends: no drop.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := rec.Record(ctx, "s", "k", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Record on a full queue = %v, want context.Canceled", err)
	}
	close(app.release)
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	app.mu.Lock()
	defer app.mu.Unlock()
	if app.n != accepted {
		t.Fatalf("appended %d, accepted %d: an accepted event was dropped", app.n, accepted)
	}
}
