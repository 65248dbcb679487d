package cluster

import (
	"fmt"
	"sync"
	"time"
)

// Deduplication of idempotent requests on the receiver: a request sent
// again (its first attempt went unanswered: the link broke, or the reply
// was lost) is run at most once per (sender, request id). The table is
// bounded in entries and in the bytes of the replies it keeps, and
// time-windowed: an entry is forgotten dedupWindow after its request
// arrived, or earlier only when the bound needs its room (counted in
// evicted, and logged).
const (
	dedupWindow   = 2 * time.Minute
	dedupEntries  = 16384
	dedupBytes    = 32 << 20 // replies kept, in all
	dedupMaxReply = 1 << 20  // a larger reply is not kept: a repeat is told it ran
	dedupSweep    = time.Second
)

// codeBusy answers a request the deduplication table has no room for (every
// entry is a request still running): it did not run.
const codeBusy = "busy"

// codeDuplicate answers a repeat of a request that ran here but whose
// reply was too large to keep: it is not run again.
const codeDuplicate = "duplicate_request"

type dedupKey struct{ from, id string }

type dedupEntry struct {
	key      dedupKey
	at       time.Time
	done     chan struct{} // closed when the first attempt answered
	finished bool          // under the table's lock
	reply    ipcMessage
	kept     bool
	size     int
}

type dedupTable struct {
	mu      sync.Mutex
	m       map[dedupKey]*dedupEntry
	order   []*dedupEntry // by arrival
	bytes   int
	swept   time.Time
	evicted uint64 // entries forgotten before their window ended

	// Bounds (the constants; smaller in tests).
	window   time.Duration
	entries  int
	maxBytes int
	maxReply int
}

func newDedupTable() *dedupTable {
	return &dedupTable{m: map[dedupKey]*dedupEntry{}, window: dedupWindow, entries: dedupEntries, maxBytes: dedupBytes, maxReply: dedupMaxReply}
}

// begin registers request id from node from. first is true for the
// first attempt, which the caller runs and then finishes; a repeat gets
// the first's entry to wait on (done) and answer from. An error means
// there is no room: the request must not run.
func (t *dedupTable) begin(from, id string, now time.Time) (e *dedupEntry, first bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := dedupKey{from, id}
	if e := t.m[k]; e != nil {
		return e, false, nil
	}
	if now.Sub(t.swept) >= dedupSweep || len(t.m) >= t.entries {
		t.sweep(now)
	}
	if len(t.m) >= t.entries {
		return nil, false, fmt.Errorf("cluster: %d idempotent requests are running here; request %s not run", len(t.m), id)
	}
	e = &dedupEntry{key: k, at: now, done: make(chan struct{})}
	t.m[k] = e
	t.order = append(t.order, e)
	return e, true, nil
}

// sweep forgets the finished entries older than the window, then, while
// over the bound, the oldest finished ones. Callers hold t.mu.
func (t *dedupTable) sweep(now time.Time) {
	t.swept = now
	excess := len(t.m) - t.entries + 1 // room for one more
	keep := t.order[:0]
	for _, e := range t.order {
		switch {
		case e.finished && now.Sub(e.at) >= t.window:
			t.drop(e)
			excess--
		case e.finished && excess > 0:
			t.drop(e)
			excess--
			t.evicted++
		default:
			keep = append(keep, e)
		}
	}
	clear(t.order[len(keep):])
	t.order = keep
}

func (t *dedupTable) drop(e *dedupEntry) {
	delete(t.m, e.key)
	t.bytes -= e.size
}

// finish keeps the first attempt's reply (when it fits) and wakes the
// repeats waiting for it.
func (t *dedupTable) finish(e *dedupEntry, reply ipcMessage) {
	size := len(reply.Body) + len(reply.Error) + len(reply.Code)
	t.mu.Lock()
	e.reply, e.finished = reply, true
	if size <= t.maxReply && t.bytes+size <= t.maxBytes {
		e.kept, e.size = true, size
		t.bytes += size
	} else {
		e.reply = ipcMessage{}
	}
	t.mu.Unlock()
	close(e.done)
}

// answer is the reply to a repeat of e's request (e finished).
func (t *dedupTable) answer(e *dedupEntry, id string) ipcMessage {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !e.kept {
		return ipcMessage{Code: codeDuplicate, Error: fmt.Sprintf("cluster: request %s already ran here; its reply was too large to keep", id)}
	}
	return e.reply
}

// stats are the table's entries, reply bytes and early evictions.
func (t *dedupTable) stats() (entries, bytes int, evicted uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m), t.bytes, t.evicted
}
