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

// errClientGone means the API client of a run stopped reading.
var errClientGone = errors.New("the client went away")

// stream carries one agent run's output straight to its API client —
// answer text as it arrives, tool calls as they happen, approvals waited
// for — without passing through kernel IPC or the chain. Sends block
// (backpressure) until the client reads them; nothing is dropped. When the
// client goes away, gone is closed and the run is cancelled.
type stream struct {
	id   string
	ch   chan apitype.RunEvent
	gone chan struct{}
	once sync.Once
	turn int // the model call the deltas belong to; only the run's goroutine touches it
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
func (s *stream) close() { s.once.Do(func() { close(s.gone) }) }

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
