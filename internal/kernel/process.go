package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftos/weftos/internal/clock"
)

// Handler is the code a native process runs. Run returns when the process
// is done: nil is exit code 0, an *ExitError carries its code, any other
// error is exit code 1. The context is cancelled when the process is killed
// or when a graceful stop's grace period ends.
type Handler interface {
	Run(ctx context.Context, p *Process) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, p *Process) error

// Run calls f.
func (f HandlerFunc) Run(ctx context.Context, p *Process) error { return f(ctx, p) }

// TopicSubscriber is implemented by handlers that subscribe to topics from
// the start: the kernel subscribes the process before Spawn returns, so a
// message published right after the spawn reaches it. A topic name that is
// not valid, or a process without can_ipc, refuses the spawn.
type TopicSubscriber interface {
	StartTopics() []string
}

// Inspector is implemented by handlers that add detail to `agent inspect`.
type Inspector interface {
	Inspect() any
}

// ExitError ends a process with a specific exit code.
type ExitError struct {
	Code   int
	Reason string
}

func (e *ExitError) Error() string { return fmt.Sprintf("exit %d: %s", e.Code, e.Reason) }

// Exit codes the kernel assigns.
const (
	ExitOK     = 0
	ExitError1 = 1
	ExitPanic  = 2
	ExitLimit  = 124
	ExitKilled = 137
)

// Process is a kernel process. Its handler receives it in Run and uses it to
// receive, send and account for resources; other code reads it through
// [Kernel.Inspect].
type Process struct {
	k       *Kernel
	pid     PID
	parent  PID
	name    string
	kind    string
	handler Handler
	started time.Time

	inbox      chan *Envelope
	inboxBytes atomic.Int64
	held       *Envelope // taken from the inbox while suspended; only Receive touches it

	msgsSent, msgsRecv, toolCalls, tokens atomic.Uint64
	busyNanos                             atomic.Int64
	lastWake                              atomic.Int64 // 1 + unix nanos when Receive last returned; 0 while waiting

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu         sync.Mutex
	caps       Capabilities
	state      State
	resume     chan struct{} // non-nil while suspended; closed on resume
	exitCode   int
	exitReason string
	exited     time.Time
	monitors   []PID
	links      []PID
	topics     []string
	graceTimer clock.Timer
}

// PID returns the process's PID.
func (p *Process) PID() PID { return p.pid }

// Parent returns the parent's PID.
func (p *Process) Parent() PID { return p.parent }

// Name returns the process's name.
func (p *Process) Name() string { return p.name }

// Kernel returns the kernel the process runs in.
func (p *Process) Kernel() *Kernel { return p.k }

// Capabilities returns a copy of the process's capabilities.
func (p *Process) Capabilities() Capabilities {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.caps
}

// State returns the current state.
func (p *Process) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// transition moves the process to next, or fails with an
// *IllegalTransitionError. It publishes process.state.
func (p *Process) transition(next State, why string, a *act) error {
	p.mu.Lock()
	from := p.state
	if !from.CanTransition(next) {
		p.mu.Unlock()
		return &IllegalTransitionError{PID: p.pid, From: from, To: next}
	}
	p.state = next
	switch {
	case next == StateSuspended:
		p.resume = make(chan struct{})
	case from == StateSuspended:
		close(p.resume)
		p.resume = nil
	}
	p.mu.Unlock()
	ev := ProcessStateEvent{PID: p.pid, From: from, To: next, Why: why}
	if a != nil {
		ev.Action, ev.ActionID, ev.Agent = a.action, a.id, a.agent
	}
	p.k.publish(Event{Kind: EventProcessState, PID: p.pid, Data: ev})
	return nil
}

// Receive waits for the next message. While the process is suspended it
// does not return. Ping signals are answered with Pong by the kernel on the
// process's behalf (a process that is not receiving does not answer pings)
// and are not returned. Receive fails when ctx ends or the CPU-time limit
// has been used up.
func (p *Process) Receive(ctx context.Context) (*Envelope, error) {
	if err := p.accountBusy(); err != nil {
		return nil, err
	}
	for {
		if err := p.waitResumed(ctx); err != nil {
			return nil, err
		}
		env := p.held
		p.held = nil
		if env == nil {
			select {
			case env = <-p.inbox:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			// Suspended while waiting: hold the message until resumed.
			if p.State() == StateSuspended {
				p.held = env
				continue
			}
		}
		p.inboxBytes.Add(-int64(env.Payload.Size()))
		p.msgsRecv.Add(1)
		if env.Payload.Kind == PayloadSignal && env.Payload.Signal == SignalPing {
			pong := &Envelope{From: p.pid, Target: ToProcess(env.From), Payload: SignalPayload(SignalPong), CorrelationID: env.ID, TraceID: env.TraceID}
			_ = p.k.deliver(ctx, pong, false)
			continue
		}
		p.lastWake.Store(p.k.clock.Now().UnixNano() + 1)
		return env, nil
	}
}

func (p *Process) waitResumed(ctx context.Context) error {
	for {
		p.mu.Lock()
		ch := p.resume
		p.mu.Unlock()
		if ch == nil {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// accountBusy adds the time since Receive last returned to the CPU-time
// counter and enforces the CPU-time limit.
func (p *Process) accountBusy() error {
	if w := p.lastWake.Swap(0); w != 0 {
		p.busyNanos.Add(p.k.clock.Now().UnixNano() + 1 - w)
	}
	lim := p.Capabilities().Limits.CPUTime
	if lim > 0 && time.Duration(p.busyNanos.Load()) > lim {
		p.k.limitHit(p, "cpu_time", uint64(lim))
		return fmt.Errorf("%w: cpu time %s used, limit %s", ErrLimit, time.Duration(p.busyNanos.Load()), lim)
	}
	return nil
}

// Send sends payload from this process to target.
func (p *Process) Send(ctx context.Context, target Target, payload Payload) error {
	_, err := p.k.send(ctx, &Envelope{From: p.pid, Target: target, Payload: payload})
	return err
}

// SendEnvelope sends a prepared envelope; From is set to this process. It
// returns the envelope's assigned ID.
func (p *Process) SendEnvelope(ctx context.Context, env *Envelope) (uint64, error) {
	env.From = p.pid
	return p.k.send(ctx, env)
}

// Request sends payload to target and waits for the reply (correlated by
// the request's ID) until ctx ends or, when ctx has no deadline, at most
// the kernel's Config.RequestTimeout.
func (p *Process) Request(ctx context.Context, target Target, payload Payload) (*Envelope, error) {
	return p.k.request(ctx, &Envelope{From: p.pid, Target: target, Payload: payload})
}

// Reply answers req with payload.
func (p *Process) Reply(ctx context.Context, req *Envelope, payload Payload) error {
	_, err := p.k.send(ctx, &Envelope{From: p.pid, Target: ToProcess(req.From), Payload: payload, CorrelationID: req.ID, TraceID: req.TraceID})
	if err != nil && req.ReplyTo {
		// A requester waiting for this answer would wait forever.
		p.k.pending.fail(req.ID, p.pid, fmt.Errorf("the reply of process %d could not be delivered: %w", p.pid, err))
	}
	return err
}

// Subscribe adds the process to topic's subscribers.
func (p *Process) Subscribe(topic string) error {
	if !p.Capabilities().CanIPC {
		return fmt.Errorf("%w: process %d lacks can_ipc", ErrCapability, p.pid)
	}
	if err := CheckName("topic", topic); err != nil {
		return err
	}
	p.k.topics.addProcess(topic, p.pid)
	p.mu.Lock()
	p.topics = append(p.topics, topic)
	p.mu.Unlock()
	return nil
}

// ChargeToolCall counts one tool call against the process's limit and
// capabilities. It fails, without counting, when the process may not run
// tools or has used up its tool-call budget.
func (p *Process) ChargeToolCall(tool string) error {
	c := p.Capabilities()
	if !c.CanExecTools {
		return fmt.Errorf("%w: process %d lacks can_exec_tools", ErrCapability, p.pid)
	}
	if !c.Tools.Permits(tool) {
		return fmt.Errorf("%w: tool %q is not allowed to process %d", ErrCapability, tool, p.pid)
	}
	if lim := c.Limits.ToolCalls; lim > 0 {
		for {
			n := p.toolCalls.Load()
			if n >= lim {
				p.k.limitHit(p, "tool_calls", lim)
				return fmt.Errorf("%w: tool calls %d of %d used", ErrLimit, n, lim)
			}
			if p.toolCalls.CompareAndSwap(n, n+1) {
				return nil
			}
		}
	}
	p.toolCalls.Add(1)
	return nil
}

// ChargeTokens counts n model tokens against the process's token limit. The
// tokens are counted even when they exceed it (they were already spent); the
// error tells the caller to stop.
func (p *Process) ChargeTokens(n uint64) error {
	total := p.tokens.Add(n)
	if lim := p.Capabilities().Limits.Tokens; lim > 0 && total > lim {
		p.k.limitHit(p, "tokens", lim)
		return fmt.Errorf("%w: %d tokens used, limit %d", ErrLimit, total, lim)
	}
	return nil
}

// Info is a snapshot of a process for listings.
type Info struct {
	PID        PID          `json:"pid"`
	Parent     PID          `json:"parent"`
	Name       string       `json:"name"`
	Kind       string       `json:"kind"`
	State      State        `json:"state"`
	ExitCode   int          `json:"exit_code"`
	ExitReason string       `json:"exit_reason,omitempty"`
	Scope      string       `json:"ipc_scope"`
	MsgsSent   uint64       `json:"messages_sent"`
	MsgsRecv   uint64       `json:"messages_received"`
	ToolCalls  uint64       `json:"tool_calls"`
	Tokens     uint64       `json:"tokens"`
	CPUTime    Millis       `json:"cpu_time_ms"`
	Started    time.Time    `json:"started"`
	Exited     time.Time    `json:"exited,omitzero"`
	InboxLen   int          `json:"inbox_len"`
	InboxCap   int          `json:"inbox_cap"`
	Caps       Capabilities `json:"capabilities"`
	Topics     []string     `json:"topics,omitempty"`
	Monitors   []PID        `json:"monitors,omitempty"`
	Links      []PID        `json:"links,omitempty"`
	Detail     any          `json:"detail,omitempty"`
}

func (p *Process) info() Info {
	p.mu.Lock()
	in := Info{
		PID: p.pid, Parent: p.parent, Name: p.name, Kind: p.kind, State: p.state,
		ExitCode: p.exitCode, ExitReason: p.exitReason, Scope: p.caps.IPCScope.String(),
		Started: p.started, Exited: p.exited, Caps: p.caps,
		Topics: append([]string(nil), p.topics...), Monitors: append([]PID(nil), p.monitors...), Links: append([]PID(nil), p.links...),
	}
	p.mu.Unlock()
	in.MsgsSent, in.MsgsRecv = p.msgsSent.Load(), p.msgsRecv.Load()
	in.ToolCalls, in.Tokens = p.toolCalls.Load(), p.tokens.Load()
	in.CPUTime = Millis(p.busyNanos.Load())
	if p.inbox != nil {
		in.InboxLen, in.InboxCap = len(p.inbox), cap(p.inbox)
	}
	return in
}

// run is the process goroutine.
func (p *Process) run() {
	defer p.k.wg.Done()
	code, reason := ExitOK, ""
	func() {
		defer func() {
			if r := recover(); r != nil {
				code, reason = ExitPanic, fmt.Sprintf("panic: %v", r)
				p.k.log.Error("process panicked", "pid", p.pid, "name", p.name, "panic", r)
			}
		}()
		p.lastWake.Store(p.k.clock.Now().UnixNano() + 1)
		err := p.handler.Run(p.ctx, p)
		var ee *ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			code, reason = ee.Code, ee.Reason
		case errors.Is(err, ErrLimit):
			code, reason = ExitLimit, err.Error()
		case errors.Is(err, context.Canceled) && p.ctx.Err() != nil:
			code, reason = ExitOK, "stopped"
		default:
			code, reason = ExitError1, err.Error()
		}
	}()
	p.k.exited(p, code, reason)
}

// monitorDown is the JSON payload a monitor receives when a watched process
// exits.
type monitorDown struct {
	Type   string `json:"type"`
	PID    PID    `json:"pid"`
	Name   string `json:"name"`
	Code   int    `json:"code"`
	Reason string `json:"reason,omitempty"`
}

// DownMessage decodes a monitor notification; ok is false for any other
// message.
func DownMessage(env *Envelope) (pid PID, code int, reason string, ok bool) {
	if env == nil || env.From != KernelPID || env.Payload.Kind != PayloadJSON {
		return 0, 0, "", false
	}
	var d monitorDown
	if json.Unmarshal(env.Payload.JSON, &d) != nil || d.Type != "down" {
		return 0, 0, "", false
	}
	return d.PID, d.Code, d.Reason, true
}
