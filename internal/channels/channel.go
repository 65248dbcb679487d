package channels

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/clock"
)

// Channel is one chat platform connection (a Telegram bot, a Slack app, a
// Discord bot). Run receives messages until ctx ends, handing each to h
// with a Conversation to answer on, and returns nil when ctx ends; a
// failure returns an error (wrapping ErrFatal when retrying cannot help:
// a revoked token, a disallowed intent) and the supervisor restarts it
// after a backoff. Run must not return before the handlers it started
// have returned.
type Channel interface {
	Name() string
	Kind() string
	Run(ctx context.Context, h Handler) error
}

// Handler receives the messages of a channel (the Dispatcher).
type Handler interface {
	Handle(ctx context.Context, in Inbound, conv Conversation)
}

// Inbound is a message as a chat platform delivered it.
type Inbound struct {
	Channel    string
	Sender     string // platform user id
	SenderName string
	// Chat is where to answer; for a direct message it is the peer.
	Chat string
	// Group is the group chat's id; "" for a direct message.
	Group string
	// Mentioned: the message mentions the bot (platform mention entities).
	Mentioned bool
	Text      string
	// Attachments are the files the message carries (not yet downloaded).
	Attachments []Attachment
}

// Conversation answers on the platform the message came from.
type Conversation interface {
	// Send posts text, split into as many messages as the platform's
	// length limit needs.
	Send(ctx context.Context, text string) error
}

// Streamer is a Conversation that can show an answer while it is
// written (by editing a message, throttled by the platform package).
type Streamer interface {
	Conversation
	// Progress shows the answer so far.
	Progress(ctx context.Context, soFar string) error
}

// ErrFatal marks a channel failure that retrying cannot fix.
var ErrFatal = errors.New("fatal channel error")

// Channel states.
const (
	StateStarting   = "starting"
	StateRunning    = "running"
	StateRetrying   = "retrying"
	StateFailed     = "failed"
	StateStopped    = "stopped"
	StateNoSecret   = "no_secret"
	backoffInitial  = 100 * time.Millisecond
	backoffMaxDelay = 30 * time.Second
)

// Status is what `weave channels status` shows of one channel.
type Status struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	State     string    `json:"state"`
	Since     time.Time `json:"since"`
	Restarts  int       `json:"restarts"`
	LastError string    `json:"last_error,omitempty"`
	Received  uint64    `json:"received"`
	Answered  uint64    `json:"answered"`
	Refused   uint64    `json:"refused"`
}

// Supervisor runs channels, restarting each one that fails after a
// backoff (100 ms doubling to 30 s; reset after a minute of running) until
// its context ends or it fails fatally.
type Supervisor struct {
	clock clock.Clock
	h     *Dispatcher
	wg    sync.WaitGroup

	mu     sync.Mutex
	status map[string]*Status
	order  []string
}

// NewSupervisor returns a supervisor handing messages to h.
func NewSupervisor(clk clock.Clock, h *Dispatcher) *Supervisor {
	return &Supervisor{clock: clk, h: h, status: map[string]*Status{}}
}

// Add shows a channel that cannot start (no secret) in the status.
func (s *Supervisor) Add(name, kind, state, problem string) {
	s.set(name, kind, func(st *Status) { st.State, st.LastError = state, problem })
}

// Start runs ch until ctx ends.
func (s *Supervisor) Start(ctx context.Context, ch Channel) {
	s.set(ch.Name(), ch.Kind(), func(st *Status) { st.State = StateStarting })
	s.wg.Go(func() { s.supervise(ctx, ch) })
}

// Wait waits for every channel to stop.
func (s *Supervisor) Wait() { s.wg.Wait() }

func (s *Supervisor) supervise(ctx context.Context, ch Channel) {
	delay := backoffInitial
	for {
		start := s.clock.Now()
		s.set(ch.Name(), ch.Kind(), func(st *Status) { st.State = StateRunning })
		err := ch.Run(ctx, s.h)
		if ctx.Err() != nil {
			s.set(ch.Name(), ch.Kind(), func(st *Status) { st.State = StateStopped })
			return
		}
		if err == nil {
			err = errors.New("the channel stopped by itself")
		}
		if errors.Is(err, ErrFatal) {
			s.set(ch.Name(), ch.Kind(), func(st *Status) { st.State, st.LastError = StateFailed, err.Error() })
			s.h.log().Error("channel failed; not retrying", "channel", ch.Name(), "err", err)
			return
		}
		if s.clock.Now().Sub(start) > time.Minute {
			delay = backoffInitial
		}
		s.set(ch.Name(), ch.Kind(), func(st *Status) { st.State, st.LastError = StateRetrying, err.Error(); st.Restarts++ })
		s.h.log().Warn("channel failed; retrying", "channel", ch.Name(), "err", err, "in", delay)
		if !clock.Sleep(ctx, s.clock, delay) {
			s.set(ch.Name(), ch.Kind(), func(st *Status) { st.State = StateStopped })
			return
		}
		delay = min(delay*2, backoffMaxDelay)
	}
}

func (s *Supervisor) set(name, kind string, f func(*Status)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status[name]
	if st == nil {
		st = &Status{Name: name, Kind: kind}
		s.status[name] = st
		s.order = append(s.order, name)
	}
	old := st.State
	f(st)
	if st.State != old {
		st.Since = s.clock.Now()
	}
}

// Status returns every channel's status, in the order they were added,
// with the dispatcher's counters.
func (s *Supervisor) Status() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.order))
	for _, n := range s.order {
		st := *s.status[n]
		st.Received, st.Answered, st.Refused = s.h.counts(n)
		out = append(out, st)
	}
	return out
}
