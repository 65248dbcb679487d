package agenthost

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/governance"
)

// Why a run's stream ended before the run did.
var (
	// ErrClientGone: the API client stopped reading (Ctrl-C, a closed
	// terminal). The run is cancelled and its session records that, so the
	// next message starts a new run.
	ErrClientGone = errors.New("cancelled: the client went away")
	// ErrShuttingDown: the daemon is stopping. The run is cancelled as a
	// crash would (nothing more is journaled): --resume finishes it later.
	ErrShuttingDown = errors.New("the daemon is shutting down")
)

// Stream carries one agent run's output straight to its API client —
// answer text as it arrives, tool calls as they happen, approvals waited
// for — without passing through kernel IPC or the chain. Sends block
// (backpressure) until the client reads them; nothing is dropped. When the
// client goes away, gone is closed and the run is cancelled.
type Stream struct {
	id     string
	ch     chan apitype.RunEvent
	gone   chan struct{}
	once   sync.Once
	reason error // why gone was closed; written once, before the close
	turn   int   // the model call the deltas belong to; only the run's goroutine touches it
}

func newStream() *Stream {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return &Stream{id: hex.EncodeToString(b[:]), ch: make(chan apitype.RunEvent, 64), gone: make(chan struct{})}
}

// send delivers ev to the client, waiting while the client is behind.
func (s *Stream) send(ctx context.Context, ev apitype.RunEvent) error {
	select {
	case s.ch <- ev:
		return nil
	case <-s.gone:
		return ErrClientGone
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close marks the client gone (idempotent).
func (s *Stream) close() { s.closeWith(ErrClientGone) }

// closeWith ends the stream for reason (the first reason wins).
func (s *Stream) closeWith(reason error) {
	s.once.Do(func() {
		s.reason = reason
		close(s.gone)
	})
}

// why is the reason the stream ended; call it only after gone is closed.
func (s *Stream) why() error { return s.reason }

// ID names the stream in the agent request (Request.Stream).
func (s *Stream) ID() string { return s.id }

// Events is what the run sends its client, in order.
func (s *Stream) Events() <-chan apitype.RunEvent { return s.ch }

// Close marks the client gone: the run is cancelled (idempotent).
func (s *Stream) Close() { s.close() }

// CloseWith ends the stream for reason (the first reason wins), e.g.
// ErrShuttingDown.
func (s *Stream) CloseWith(reason error) { s.closeWith(reason) }

// Approval tells the client the run waits for a human decision.
func (s *Stream) Approval(ctx context.Context, id string, req governance.Request, d governance.Decision) {
	s.approval(ctx, id, req, d)
}

// OpenStream makes a stream for one run and registers it, so the agent
// process serving the run finds it by id; DropStream forgets it.
func (h *Host) OpenStream() *Stream {
	s := newStream()
	h.streams.add(s)
	return s
}

// DropStream forgets s (after its run).
func (h *Host) DropStream(s *Stream) { h.streams.remove(s) }

func (s *Stream) approval(ctx context.Context, id string, req governance.Request, d governance.Decision) {
	_ = s.send(ctx, apitype.RunEvent{Type: apitype.RunApproval, ActionID: id, Action: req.Action, Reason: d.Reason})
}

// streamTable maps a run's id to its stream, so the agent process serving
// the run finds it from the request it receives over IPC.
type streamTable struct {
	mu sync.Mutex
	m  map[string]*Stream
}

func (t *streamTable) add(s *Stream) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*Stream{}
	}
	t.m[s.id] = s
}

func (t *streamTable) remove(s *Stream) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, s.id)
}

func (t *streamTable) get(id string) *Stream {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

type streamKey struct{}

// WithStream attaches s to ctx, so the authority pipeline can tell the
// client about approvals the run waits for.
func WithStream(ctx context.Context, s *Stream) context.Context {
	if s == nil {
		return ctx
	}
	return context.WithValue(ctx, streamKey{}, s)
}

func StreamFrom(ctx context.Context) *Stream {
	s, _ := ctx.Value(streamKey{}).(*Stream)
	return s
}

type carryKey struct{}

// WithCarry attaches an agent turn's carry (see authority.Carry) to ctx:
// the acts of the turn record the outcomes of model calls and recalls
// together with their next decision.
func WithCarry(ctx context.Context, c *authority.Carry) context.Context {
	return context.WithValue(ctx, carryKey{}, c)
}

func CarryFrom(ctx context.Context) *authority.Carry {
	c, _ := ctx.Value(carryKey{}).(*authority.Carry)
	return c
}
