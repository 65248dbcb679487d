package chain

import (
	"context"
	"errors"
	"log/slog"
	"sync"
)

// Appender is what a Recorder needs from a Log.
type Appender interface {
	AppendBatch(ctx context.Context, entries []Entry) ([]Event, error)
}

// lazyAppender is a Log's lazy append (see Log.AppendBatchLazy), which a
// Recorder prefers when its log offers it.
type lazyAppender interface {
	AppendBatchLazy(ctx context.Context, entries []Entry) ([]Event, error)
}

var _ Appender = (*Log)(nil)

// Recorder appends events asynchronously so that recording stays off the
// caller's critical path. Record never drops: it blocks (bounded by ctx)
// while the queue is full. Payloads are marshalled by the recorder's
// goroutine, so callers must not mutate a payload after passing it.
type Recorder struct {
	log    Appender
	logger *slog.Logger
	queue  chan recItem

	closeMu sync.RWMutex
	closed  bool
	stop    chan struct{}
	done    chan struct{}
	maxB    int
}

type recItem struct {
	entry Entry
	flush chan struct{} // non-nil for a flush marker
}

// NewRecorder starts a recorder in front of log with a queue of queue
// entries (default 4096 when queue <= 0).
func NewRecorder(log Appender, logger *slog.Logger, queue int) *Recorder {
	if queue <= 0 {
		queue = 4096
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{log: log, logger: logger, queue: make(chan recItem, queue),
		stop: make(chan struct{}), done: make(chan struct{}), maxB: 1024}
	go r.run()
	return r
}

// Record enqueues an event.
func (r *Recorder) Record(ctx context.Context, source, kind string, payload any) error {
	return r.enqueue(ctx, recItem{entry: Entry{Source: source, Kind: kind, Payload: payload}})
}

func (r *Recorder) enqueue(ctx context.Context, it recItem) error {
	r.closeMu.RLock()
	defer r.closeMu.RUnlock()
	if r.closed {
		return ErrClosed
	}
	select {
	case r.queue <- it:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush returns once every event recorded before the call is durable (or
// failed and was logged).
func (r *Recorder) Flush(ctx context.Context) error {
	ch := make(chan struct{})
	if err := r.enqueue(ctx, recItem{flush: ch}); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting events, appends everything queued and stops the
// recorder's goroutine. It does not close the Log.
func (r *Recorder) Close(ctx context.Context) error {
	r.closeMu.Lock()
	if r.closed {
		r.closeMu.Unlock()
		return ErrClosed
	}
	r.closed = true
	r.closeMu.Unlock()
	close(r.stop)
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		<-r.done
		return ctx.Err()
	}
}

func (r *Recorder) run() {
	defer close(r.done)
	batch := make([]Entry, 0, r.maxB)
	var flushes []chan struct{}
	for {
		var it recItem
		stopping := false
		select {
		case it = <-r.queue:
		case <-r.stop:
			stopping = true
		}
		if !stopping {
			batch, flushes = add(batch, flushes, it)
		}
		for len(batch) < r.maxB {
			select {
			case it = <-r.queue:
				batch, flushes = add(batch, flushes, it)
				continue
			default:
			}
			break
		}
		r.write(batch)
		batch = batch[:0]
		for _, f := range flushes {
			close(f)
		}
		flushes = flushes[:0]
		if stopping && len(r.queue) == 0 {
			return
		}
	}
}

func add(batch []Entry, flushes []chan struct{}, it recItem) ([]Entry, []chan struct{}) {
	if it.flush != nil {
		return batch, append(flushes, it.flush)
	}
	return append(batch, it.entry), flushes
}

// write appends a batch; an entry the log rejects as invalid is logged and
// skipped so it cannot block the others.
func (r *Recorder) write(batch []Entry) {
	if len(batch) == 0 {
		return
	}
	ctx := context.Background()
	appendBatch := r.log.AppendBatch
	if la, ok := r.log.(lazyAppender); ok {
		// Recorded events wait on nobody: share the fsync of the next
		// durable append rather than cost one of their own.
		appendBatch = la.AppendBatchLazy
	}
	if _, err := appendBatch(ctx, batch); err == nil {
		return
	} else if !errors.Is(err, ErrInvalidEvent) {
		r.logger.Error("chain: recording events failed", "events", len(batch), "err", err)
		return
	}
	for _, e := range batch {
		if _, err := r.log.AppendBatch(ctx, []Entry{e}); err != nil {
			r.logger.Error("chain: recording event failed", "source", e.Source, "kind", e.Kind, "err", err)
		}
	}
}
