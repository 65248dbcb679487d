package kernel

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Send sends env from env.From (which must be a live process; PID 0 is the
// kernel/operator) and returns the assigned message ID.
func (k *Kernel) Send(ctx context.Context, env *Envelope) (uint64, error) { return k.send(ctx, env) }

// DefaultRequestTimeout is how long Request waits for a reply when its
// context has no deadline (Config.RequestTimeout).
const DefaultRequestTimeout = 30 * time.Second

// Request sends env and waits for the reply correlated with it until ctx
// ends or, when ctx has no deadline, at most Config.RequestTimeout (an
// unanswered request does not wait forever).
func (k *Kernel) Request(ctx context.Context, env *Envelope) (*Envelope, error) {
	return k.request(ctx, env)
}

// Await is Request without the default bound: it waits for the reply as
// long as ctx allows, for callers that bound the wait themselves (an agent
// run lasts as long as its client stays and the node runs, however long
// the model and the tools take).
func (k *Kernel) Await(ctx context.Context, env *Envelope) (*Envelope, error) {
	return k.exchange(ctx, env)
}

func (k *Kernel) send(ctx context.Context, env *Envelope) (uint64, error) {
	if err := env.Payload.Validate(); err != nil {
		return 0, err
	}
	from, err := k.lookup(env.From)
	if err != nil {
		return 0, fmt.Errorf("send: sender: %w", err)
	}
	if env.ID == 0 {
		env.ID = k.msgID.Add(1)
	}
	if env.Timestamp.IsZero() {
		env.Timestamp = k.clock.Now()
	}
	caps := from.Capabilities()
	if err := k.checkScope(from, caps, env.Target); err != nil && !k.isReply(env) {
		return 0, err
	}
	if lim := caps.Limits.Messages; lim > 0 && from.msgsSent.Load() >= lim {
		k.limitHit(from, "messages", lim)
		return 0, fmt.Errorf("%w: process %d has sent its %d messages", ErrLimit, from.pid, lim)
	}
	var actionID, action string
	if env.Target.Kind == TargetKernel {
		action = "ipc.send"
		var err error
		if actionID, err = k.gate(ctx, GateRequest{Action: action, PID: from.pid, Name: from.name, Caps: caps,
			Context: map[string]string{"target": "kernel", "payload_kind": env.Payload.Kind.String()}}); err != nil {
			return 0, err
		}
	}
	if err := k.route(ctx, env); err != nil {
		return 0, err
	}
	from.msgsSent.Add(1)
	if k.bus.Active() {
		k.publish(Event{Kind: EventIPCSend, PID: env.From, Payload: &env.Payload, Data: IPCEvent{
			ID: env.ID, From: env.From, Target: env.Target.String(), PayloadKind: env.Payload.Kind.String(),
			Size: env.Payload.Size(), CorrelationID: env.CorrelationID, TraceID: env.TraceID,
			Action: action, ActionID: actionID, Agent: agentName(from, action)}})
	}
	return env.ID, nil
}

// isReply reports whether env answers a request that was delivered to its
// sender and whose requester is still waiting: a process may always answer
// what it was asked, whatever its scope and even without can_ipc — the
// request carries the right to one answer, to the requester only (a
// service answers its clients without naming them in its scope; an agent
// answers the runs it is given). Nothing else is widened.
func (k *Kernel) isReply(env *Envelope) bool {
	return env.CorrelationID != 0 && env.Target.Kind == TargetProcess &&
		k.pending.expects(env.CorrelationID, env.From, env.Target.PID)
}

// checkScope enforces the sender's IPC scope for target.
func (k *Kernel) checkScope(from *Process, caps Capabilities, t Target) error {
	if from.pid == KernelPID {
		return nil
	}
	deny := func(why string) error {
		return fmt.Errorf("%w: process %d (scope %s) → %s: %s", ErrScope, from.pid, caps.IPCScope, t, why)
	}
	if !caps.CanIPC {
		return deny("the process lacks can_ipc")
	}
	s := caps.IPCScope
	switch s.Kind {
	case ScopeAll:
		return nil
	case ScopeNone:
		return deny("scope none")
	}
	switch t.Kind {
	case TargetProcess:
		return k.scopeAllowsPID(from, s, t.PID, deny)
	case TargetService, TargetServiceMethod:
		owner, err := k.services.owner(t.Service)
		if err != nil {
			return err
		}
		return k.scopeAllowsPID(from, s, owner, deny)
	case TargetTopic:
		if s.Kind == ScopeTopic && slices.Contains(s.Topics, t.Topic) {
			return nil
		}
		return deny("topic not in scope")
	default:
		return deny("needs scope all")
	}
}

func (k *Kernel) scopeAllowsPID(from *Process, s IPCScope, pid PID, deny func(string) error) error {
	switch s.Kind {
	case ScopeParentOnly:
		if pid == from.parent {
			return nil
		}
	case ScopeRestricted:
		if slices.Contains(s.PIDs, pid) {
			return nil
		}
	}
	return deny("PID not in scope")
}

// route delivers env according to its target kind.
func (k *Kernel) route(ctx context.Context, env *Envelope) error {
	t := env.Target
	switch t.Kind {
	case TargetProcess:
		return k.deliver(ctx, env, true)
	case TargetTopic:
		if err := CheckName("topic", t.Topic); err != nil {
			return err
		}
		k.topics.publish(k, env)
		k.spread(ctx, env)
		return nil
	case TargetBroadcast:
		defer k.spread(ctx, env)
		k.mu.RLock()
		procs := make([]*Process, 0, len(k.procs))
		for _, p := range k.procs {
			if p.pid != KernelPID && p.pid != env.From {
				procs = append(procs, p)
			}
		}
		k.mu.RUnlock()
		for _, p := range procs {
			c := *env
			k.enqueue(p, &c)
		}
		return nil
	case TargetService, TargetServiceMethod:
		owner, err := k.resolveService(t)
		if errors.Is(err, ErrUnknownService) {
			if handled, rerr := k.remoteService(ctx, env); handled {
				return rerr
			}
		}
		if err != nil {
			return err
		}
		return k.deliverTo(ctx, owner, env, true)
	case TargetRemoteNode:
		return k.routeRemote(ctx, env)
	case TargetKernel:
		return k.handleKernelRequest(ctx, env)
	default:
		return fmt.Errorf("%w: unknown target kind %d", ErrInvalid, t.Kind)
	}
}

// deliver sends env to the process t.PID: a reply goes to the waiting
// requester, anything else to the inbox.
func (k *Kernel) deliver(ctx context.Context, env *Envelope, block bool) error {
	return k.deliverTo(ctx, env.Target.PID, env, block)
}

func (k *Kernel) deliverTo(ctx context.Context, pid PID, env *Envelope, block bool) error {
	if env.CorrelationID != 0 && k.pending.complete(pid, env) {
		return nil
	}
	if pid == KernelPID {
		if env.Payload.Kind == PayloadSignal && env.Payload.Signal == SignalPong {
			return nil
		}
		k.deadLetter(env, "the kernel takes requests through the kernel target")
		return nil
	}
	p, err := k.lookup(pid)
	if err != nil {
		k.deadLetter(env, "no such process")
		return err
	}
	if st := p.State(); st == StateStopping || st == StateExited {
		k.deadLetter(env, "recipient is "+st.String())
		return fmt.Errorf("%w: process %d is %s", ErrNotRunning, pid, st)
	}
	if env.Payload.Kind == PayloadSignal {
		if handled, err := k.controlSignal(ctx, env, p); handled {
			return err
		}
	}
	if env.ReplyTo {
		// Before the enqueue: the recipient may answer at once.
		k.pending.deliveredTo(env.ID, pid)
	}
	size := int64(env.Payload.Size())
	if lim := p.Capabilities().Limits.MemoryBytes; lim > 0 && p.inboxBytes.Load()+size > int64(lim) {
		k.deadLetter(env, "inbox memory limit")
		return fmt.Errorf("%w: process %d inbox holds %d bytes, limit %d", ErrInboxFull, pid, p.inboxBytes.Load(), lim)
	}
	select {
	case p.inbox <- env:
		p.inboxBytes.Add(size)
		return nil
	default:
	}
	if !block {
		k.deadLetter(env, "inbox full")
		return fmt.Errorf("%w: process %d", ErrInboxFull, pid)
	}
	select {
	case p.inbox <- env:
		p.inboxBytes.Add(size)
		return nil
	case <-p.done:
		k.deadLetter(env, "recipient exited")
		return fmt.Errorf("%w: process %d exited", ErrNotRunning, pid)
	case <-ctx.Done():
		k.deadLetter(env, "inbox full")
		return fmt.Errorf("%w: process %d: %v", ErrInboxFull, pid, ctx.Err())
	}
}

// controlSignal applies the signals the kernel acts on itself. Only the
// kernel or an ancestor of the target may send them.
func (k *Kernel) controlSignal(ctx context.Context, env *Envelope, p *Process) (bool, error) {
	sig := env.Payload.Signal
	switch sig {
	case SignalKill, SignalSuspend, SignalResume, SignalShutdown:
	default:
		return false, nil
	}
	op := OpStop
	switch sig {
	case SignalKill:
		op = OpKill
	case SignalSuspend:
		op = OpSuspend
	case SignalResume:
		op = OpResume
	}
	// A control signal is a process control operation: gated like one.
	return true, k.Control(ctx, env.From, p.pid, op)
}

func (k *Kernel) isAncestor(a PID, p *Process) bool {
	if a == KernelPID {
		return true
	}
	for cur := p.parent; ; {
		if cur == a {
			return true
		}
		if cur == KernelPID {
			return false
		}
		q, err := k.lookup(cur)
		if err != nil {
			return false
		}
		cur = q.parent
	}
}

func (k *Kernel) request(ctx context.Context, env *Envelope) (*Envelope, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, k.cfg.RequestTimeout)
		defer cancel()
	}
	return k.exchange(ctx, env)
}

// exchange sends env as a request and waits for its reply until ctx ends.
func (k *Kernel) exchange(ctx context.Context, env *Envelope) (*Envelope, error) {
	env.ID = k.msgID.Add(1)
	env.ReplyTo = true
	ch := k.pending.add(env.From, env.ID)
	defer k.pending.remove(env.ID)
	if _, err := k.send(ctx, env); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.env, r.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w: no reply to message %d from %s", ErrDeadline, env.ID, env.Target)
		}
		return nil, ctx.Err()
	}
}

// pendingReplies holds requesters waiting for replies.
type pendingReplies struct {
	mu      sync.Mutex
	waiters map[uint64]pendingWaiter
}

type pendingWaiter struct {
	owner PID // the requester
	to    PID // the process the request was delivered to (0: not yet)
	ch    chan pendingReply
}

// pendingReply is what a waiter gets: the reply, or why none will come.
type pendingReply struct {
	env *Envelope
	err error
}

func (r *pendingReplies) init() { r.waiters = make(map[uint64]pendingWaiter) }

func (r *pendingReplies) add(owner PID, id uint64) chan pendingReply {
	ch := make(chan pendingReply, 1)
	r.mu.Lock()
	r.waiters[id] = pendingWaiter{owner: owner, ch: ch}
	r.mu.Unlock()
	return ch
}

// deliveredTo notes that request id was delivered to pid, which may then
// answer it.
func (r *pendingReplies) deliveredTo(id uint64, pid PID) {
	r.mu.Lock()
	if w, ok := r.waiters[id]; ok {
		w.to = pid
		r.waiters[id] = w
	}
	r.mu.Unlock()
}

// expects reports whether owner waits for an answer to request id from
// the process it was delivered to, from.
func (r *pendingReplies) expects(id uint64, from, owner PID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.waiters[id]
	return ok && w.owner == owner && w.to == from && from != 0
}

func (r *pendingReplies) remove(id uint64) {
	r.mu.Lock()
	delete(r.waiters, id)
	r.mu.Unlock()
}

// complete hands env to the waiter for its correlation ID if that waiter
// belongs to pid.
func (r *pendingReplies) complete(pid PID, env *Envelope) bool {
	r.mu.Lock()
	w, ok := r.waiters[env.CorrelationID]
	if ok && w.owner == pid {
		delete(r.waiters, env.CorrelationID)
	}
	r.mu.Unlock()
	if !ok || w.owner != pid {
		return false
	}
	w.ch <- pendingReply{env: env}
	return true
}

// fail ends the wait for request id with err, if it was delivered to
// from: its answer cannot be delivered, and its requester must not wait
// for one that never comes.
func (r *pendingReplies) fail(id uint64, from PID, err error) {
	r.mu.Lock()
	w, ok := r.waiters[id]
	ok = ok && w.to == from && from != 0
	if ok {
		delete(r.waiters, id)
	}
	r.mu.Unlock()
	if ok {
		w.ch <- pendingReply{err: err}
	}
}

// failDeliveredTo ends, with an error, the wait for every request
// delivered to pid, which exited without answering them.
func (r *pendingReplies) failDeliveredTo(pid PID, reason string) {
	var ended []pendingWaiter
	r.mu.Lock()
	for id, w := range r.waiters {
		if w.to == pid {
			delete(r.waiters, id)
			ended = append(ended, w)
		}
	}
	r.mu.Unlock()
	why := ""
	if reason != "" {
		why = ": " + reason
	}
	for _, w := range ended {
		w.ch <- pendingReply{err: fmt.Errorf("%w: process %d exited before answering%s", ErrNotRunning, pid, why)}
	}
}

func (r *pendingReplies) dropOwner(pid PID) {
	r.mu.Lock()
	for id, w := range r.waiters {
		if w.owner == pid {
			delete(r.waiters, id)
		}
	}
	r.mu.Unlock()
}

// DeadLetter is a message that could not be delivered.
type DeadLetter struct {
	Envelope Envelope  `json:"envelope"`
	Reason   string    `json:"reason"`
	Time     time.Time `json:"time"`
}

// deadLetters is a bounded ring; the oldest entries are evicted (and
// counted) when it is full.
type deadLetters struct {
	mu      sync.Mutex
	buf     []DeadLetter
	start   int
	n       int
	total   uint64
	evicted uint64
}

func (d *deadLetters) init(capacity int) { d.buf = make([]DeadLetter, capacity) }

func (d *deadLetters) add(dl DeadLetter) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.total++
	if d.n == len(d.buf) {
		d.buf[d.start] = dl
		d.start = (d.start + 1) % len(d.buf)
		d.evicted++
		return
	}
	d.buf[(d.start+d.n)%len(d.buf)] = dl
	d.n++
}

func (d *deadLetters) list() []DeadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]DeadLetter, d.n)
	for i := range d.n {
		out[i] = d.buf[(d.start+i)%len(d.buf)]
	}
	return out
}

func (k *Kernel) deadLetter(env *Envelope, reason string) {
	k.dlq.add(DeadLetter{Envelope: *env, Reason: reason, Time: k.clock.Now()})
	k.publish(Event{Kind: EventIPCDeadLetter, PID: env.From, Payload: &env.Payload, Data: IPCEvent{
		ID: env.ID, From: env.From, Target: env.Target.String(), PayloadKind: env.Payload.Kind.String(),
		Size: env.Payload.Size(), CorrelationID: env.CorrelationID, TraceID: env.TraceID, Reason: reason}})
}

// DeadLetters returns the dead-letter queue, oldest first.
func (k *Kernel) DeadLetters() []DeadLetter { return k.dlq.list() }

// DLQStats returns how many messages were ever dead-lettered and how many
// of those were evicted from the bounded queue.
func (k *Kernel) DLQStats() (total, evicted uint64) {
	k.dlq.mu.Lock()
	defer k.dlq.mu.Unlock()
	return k.dlq.total, k.dlq.evicted
}

// agentName is the sender's name for gated sends (empty otherwise, to keep
// ungated ipc.send events small).
func agentName(p *Process, action string) string {
	if action == "" {
		return ""
	}
	return p.name
}
