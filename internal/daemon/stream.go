package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"unicode/utf8"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/governance"
)

// Why a run's stream ended before the run did.
var (
	// errClientGone: the API client stopped reading (Ctrl-C, a closed
	// terminal). The run is cancelled and its session records that, so the
	// next message starts a new run.
	errClientGone = errors.New("cancelled: the client went away")
	// errShuttingDown: the daemon is stopping. The run is cancelled as a
	// crash would (nothing more is journaled): --resume finishes it later.
	errShuttingDown = errors.New("the daemon is shutting down")
)

// stream carries one agent run's output straight to its API client —
// answer text as it arrives, tool calls as they happen, approvals waited
// for — without passing through kernel IPC or the chain. Sends block
// (backpressure) until the client reads them; nothing is dropped. When the
// client goes away, gone is closed and the run is cancelled.
type stream struct {
	id     string
	ch     chan apitype.RunEvent
	gone   chan struct{}
	once   sync.Once
	reason error // why gone was closed; written once, before the close
	turn   int   // the model call the deltas belong to; only the run's goroutine touches it
}

func newStream() *stream {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return &stream{id: hex.EncodeToString(b[:]), ch: make(chan apitype.RunEvent, 64), gone: make(chan struct{})}
}

// send delivers ev to the client, waiting while the client is behind.
func (s *stream) send(ctx context.Context, ev apitype.RunEvent) error {
	select {
	case s.ch <- ev:
		return nil
	case <-s.gone:
		return errClientGone
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close marks the client gone (idempotent).
func (s *stream) close() { s.closeWith(errClientGone) }

// closeWith ends the stream for reason (the first reason wins).
func (s *stream) closeWith(reason error) {
	s.once.Do(func() {
		s.reason = reason
		close(s.gone)
	})
}

// why is the reason the stream ended; call it only after gone is closed.
func (s *stream) why() error { return s.reason }

func (s *stream) approval(ctx context.Context, id string, req governance.Request, d governance.Decision) {
	_ = s.send(ctx, apitype.RunEvent{Type: apitype.RunApproval, ActionID: id, Action: req.Action, Reason: d.Reason})
}

// streamTable maps a run's id to its stream, so the agent process serving
// the run finds it from the request it receives over IPC.
type streamTable struct {
	mu sync.Mutex
	m  map[string]*stream
}

func (t *streamTable) add(s *stream) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*stream{}
	}
	t.m[s.id] = s
}

func (t *streamTable) remove(s *stream) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, s.id)
}

func (t *streamTable) get(id string) *stream {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

type streamKey struct{}

// withStream attaches s to ctx, so the authority pipeline can tell the
// client about approvals the run waits for.
func withStream(ctx context.Context, s *stream) context.Context {
	if s == nil {
		return ctx
	}
	return context.WithValue(ctx, streamKey{}, s)
}

func streamFrom(ctx context.Context) *stream {
	s, _ := ctx.Value(streamKey{}).(*stream)
	return s
}

// short shortens s to about n bytes for display, on a rune boundary.
func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

type carryKey struct{}

// withCarry attaches an agent turn's carry (see authority.Carry) to ctx:
// the acts of the turn record the outcomes of model calls and recalls
// together with their next decision.
func withCarry(ctx context.Context, c *authority.Carry) context.Context {
	return context.WithValue(ctx, carryKey{}, c)
}

func carryFrom(ctx context.Context) *authority.Carry {
	c, _ := ctx.Value(carryKey{}).(*authority.Carry)
	return c
}
