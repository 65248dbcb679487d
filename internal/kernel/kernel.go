package kernel

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftos/weftos/internal/clock"
)

// Gate is asked before privileged operations (spawn, capability
// elevation, process control, cron jobs, IPC to the kernel). The
// composition root plugs governance in here; a nil Gate permits all.
type Gate interface {
	// Check returns nil to permit, or an error (wrapping ErrDenied for a
	// decision against) to refuse. It may block while a human decides.
	Check(ctx context.Context, req GateRequest) error
	// Refused is told about a privileged operation the kernel refused
	// itself before asking Check (a missing capability, a process that is
	// not a descendant), so that the refusal can be recorded too.
	Refused(ctx context.Context, req GateRequest, reason error)
}

// GateRequest describes a privileged operation.
type GateRequest struct {
	// ActionID identifies this operation; the kernel puts it in the event
	// that records the operation, so an auditor can pair the two.
	ActionID string
	Action   string // e.g. "agent.spawn", "ipc.send"
	PID      PID    // the acting process
	Name     string // the acting process's name
	Caps     Capabilities
	Context  map[string]string
}

// Config configures a kernel. The zero value of each field picks the default.
type Config struct {
	MaxProcesses  int           // default 4096
	InboxCapacity int           // default 1024
	DLQCapacity   int           // default 1000
	StopGrace     time.Duration // default 5s
	ExitHistory   int           // exited processes kept for inspection, default 256
	// RequestTimeout bounds how long Request waits for a reply when its
	// context has no deadline; default 30s. Await waits as long as its
	// context allows.
	RequestTimeout time.Duration
	// FirstPID is the first PID to hand out (so PIDs are not reused across
	// boots). Reserve, when set, is called before PIDs beyond the last
	// reservation are handed out, with the new high-water mark.
	FirstPID PID
	Reserve  func(upTo PID) error
	NodeID   string
	Version  string
	Clock    clock.Clock
	Logger   *slog.Logger
	Gate     Gate
}

const pidReserveBlock = 4096

// Kernel is the process table, IPC router, service registry and cron. Create
// it with New and shut it down with Close.
type Kernel struct {
	cfg   Config
	log   *slog.Logger
	clock clock.Clock
	bus   Bus
	boot  time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.RWMutex
	procs    map[PID]*Process
	recent   []Info // ring of recent exits
	closed   bool
	kinds    map[string]KindFunc
	nextPID  PID
	reserved PID

	self     *Process // PID 0
	msgID    atomic.Uint64
	actionID atomic.Uint64
	bootTag  string
	topics   topicTable
	dlq      deadLetters
	pending  pendingReplies
	services serviceRegistry
	cron     cronTable
	sups     supervisorTable
	remote   Remote // the mesh, when the node is in a cluster
}

// KindFunc builds the handler for a process kind from spawn arguments.
type KindFunc func(args json.RawMessage) (Handler, error)

// New starts a kernel. PID 0 exists from the start.
func New(cfg Config) (*Kernel, error) {
	if cfg.MaxProcesses <= 0 {
		cfg.MaxProcesses = 4096
	}
	if cfg.InboxCapacity <= 0 {
		cfg.InboxCapacity = 1024
	}
	if cfg.DLQCapacity <= 0 {
		cfg.DLQCapacity = 1000
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 5 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.ExitHistory <= 0 {
		cfg.ExitHistory = 256
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	k := &Kernel{
		cfg: cfg, log: cfg.Logger, clock: cfg.Clock, boot: cfg.Clock.Now(),
		procs: make(map[PID]*Process), kinds: make(map[string]KindFunc),
		nextPID: max(cfg.FirstPID, 1),
	}
	k.reserved = k.nextPID - 1
	var tag [4]byte
	_, _ = rand.Read(tag[:])
	k.bootTag = hex.EncodeToString(tag[:])
	k.ctx, k.cancel = context.WithCancel(context.Background())
	k.dlq.init(cfg.DLQCapacity)
	k.topics.init()
	k.pending.init()
	k.services.init()
	k.cron.init()
	k.sups.init()
	k.self = &Process{k: k, pid: KernelPID, parent: KernelPID, name: "kernel", kind: "kernel", started: k.boot,
		caps: RootCapabilities(), state: StateRunning, done: make(chan struct{})}
	k.self.ctx, k.self.cancel = k.ctx, k.cancel
	k.procs[KernelPID] = k.self
	return k, nil
}

// Bus returns the kernel's event bus.
func (k *Kernel) Bus() *Bus { return &k.bus }

// Boot publishes kernel.boot; call it after subscribers are attached.
func (k *Kernel) Boot() {
	k.publish(Event{Kind: EventBoot, PID: KernelPID, Data: map[string]any{"node": k.cfg.NodeID, "version": k.cfg.Version}})
}

// NodeID returns the node's ID.
func (k *Kernel) NodeID() string { return k.cfg.NodeID }

// Uptime returns the time since New.
func (k *Kernel) Uptime() time.Duration { return k.clock.Now().Sub(k.boot) }

// SetGate installs the governance gate.
func (k *Kernel) SetGate(g Gate) {
	k.mu.Lock()
	k.cfg.Gate = g
	k.mu.Unlock()
}

// NewActionID returns a fresh action ID (unique per boot: a random boot tag
// and a counter) for operations decided outside the kernel.
func (k *Kernel) NewActionID() string {
	var b [64]byte
	id := strconv.AppendUint(append(append(b[:0], k.bootTag...), '-'), k.actionID.Add(1), 10)
	return string(id)
}

// gate asks the Gate about req, assigning it an action ID, which it
// returns ("" when no gate is installed).
func (k *Kernel) gate(ctx context.Context, req GateRequest) (string, error) {
	k.mu.RLock()
	g := k.cfg.Gate
	k.mu.RUnlock()
	if g == nil {
		return "", nil
	}
	req.ActionID = k.NewActionID()
	return req.ActionID, g.Check(ctx, req)
}

// refused tells the gate about an operation refused before it was asked,
// and returns reason.
func (k *Kernel) refused(ctx context.Context, req GateRequest, reason error) error {
	k.mu.RLock()
	g := k.cfg.Gate
	k.mu.RUnlock()
	if g != nil {
		req.ActionID = k.NewActionID()
		g.Refused(ctx, req, reason)
	}
	return reason
}

// RegisterKind makes a process kind spawnable by name (from the API, the
// Kernel IPC target and supervisors).
func (k *Kernel) RegisterKind(name string, f KindFunc) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.kinds[name] = f
}

// Kinds lists the registered process kinds.
func (k *Kernel) Kinds() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]string, 0, len(k.kinds))
	for n := range k.kinds {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (k *Kernel) publish(ev Event) {
	if !k.bus.Active() {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = k.clock.Now()
	}
	k.bus.Publish(ev)
}

// SpawnSpec describes a process to start.
type SpawnSpec struct {
	Name   string
	Parent PID
	// Kind names a registered kind (with Args); Handler, when set, is used
	// instead and Kind is only a label.
	Kind    string
	Args    json.RawMessage
	Handler Handler
	// Caps are the requested capabilities; they are attenuated against the
	// parent's. InheritCaps takes the parent's capabilities unchanged.
	Caps        Capabilities
	InheritCaps bool
	// Inbox overrides the kernel's inbox capacity when > 0.
	Inbox int

	// assigned, when set, learns the child's PID before the child turns
	// Running: a supervisor names its new child before anyone can see
	// it run.
	assigned func(PID)
}

// Spawn starts a process and returns its PID once it is Running.
func (k *Kernel) Spawn(ctx context.Context, spec SpawnSpec) (PID, error) {
	p, err := k.spawn(ctx, spec)
	if err != nil {
		return 0, err
	}
	return p.pid, nil
}

func (k *Kernel) spawn(ctx context.Context, spec SpawnSpec) (*Process, error) {
	if err := CheckName("process", spec.Name); err != nil {
		return nil, err
	}
	parent, err := k.lookup(spec.Parent)
	if err != nil {
		return nil, fmt.Errorf("spawn %q: parent: %w", spec.Name, err)
	}
	pcaps := parent.Capabilities()
	greq := GateRequest{Action: "agent.spawn", PID: parent.pid, Name: parent.name, Caps: pcaps,
		Context: map[string]string{"name": spec.Name, "kind": spec.Kind}}
	if !pcaps.CanSpawn {
		return nil, k.refused(ctx, greq, fmt.Errorf("%w: process %d lacks can_spawn", ErrCapability, parent.pid))
	}
	if st := parent.State(); st != StateRunning {
		return nil, fmt.Errorf("%w: parent %d is %s", ErrNotRunning, parent.pid, st)
	}
	caps := pcaps
	if !spec.InheritCaps {
		if caps, err = Attenuate(pcaps, spec.Caps, parent.pid, parent.parent); err != nil {
			return nil, k.refused(ctx, greq, fmt.Errorf("spawn %q: %w", spec.Name, err))
		}
	}
	// Governance decides on what the child will hold, not only on who
	// asks: the child's capabilities go into the request's context.
	for key, v := range caps.describe("child_") {
		greq.Context[key] = v
	}
	h := spec.Handler
	if h == nil {
		k.mu.RLock()
		f, ok := k.kinds[spec.Kind]
		k.mu.RUnlock()
		if !ok {
			return nil, fmt.Errorf("%w: %q (registered: %v)", ErrUnknownHandler, spec.Kind, k.Kinds())
		}
		if h, err = f(spec.Args); err != nil {
			return nil, fmt.Errorf("spawn %q: %w", spec.Name, err)
		}
	}
	var topics []string
	if ts, ok := h.(TopicSubscriber); ok {
		topics = ts.StartTopics()
		if len(topics) > 0 && !caps.CanIPC {
			return nil, k.refused(ctx, greq, fmt.Errorf("spawn %q: %w: subscribing to topics needs can_ipc", spec.Name, ErrCapability))
		}
		for _, t := range topics {
			if err := CheckName("topic", t); err != nil {
				return nil, fmt.Errorf("spawn %q: %w", spec.Name, err)
			}
		}
	}
	actionID, err := k.gate(ctx, greq)
	if err != nil {
		return nil, fmt.Errorf("spawn %q: %w", spec.Name, err)
	}
	inbox := k.cfg.InboxCapacity
	if spec.Inbox > 0 {
		inbox = spec.Inbox
	}
	p := &Process{k: k, parent: parent.pid, name: spec.Name, kind: spec.Kind, handler: h, caps: caps,
		state: StateStarting, inbox: make(chan *Envelope, inbox), done: make(chan struct{}), started: k.clock.Now()}
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil, ErrClosed
	}
	if len(k.procs) >= k.cfg.MaxProcesses+1 { // +1: PID 0
		k.mu.Unlock()
		return nil, fmt.Errorf("%w: %d processes running", ErrMaxProcesses, k.cfg.MaxProcesses)
	}
	if k.nextPID > k.reserved && k.cfg.Reserve != nil {
		if err := k.cfg.Reserve(k.nextPID + pidReserveBlock); err != nil {
			k.mu.Unlock()
			return nil, fmt.Errorf("spawn %q: reserving PIDs: %w", spec.Name, err)
		}
		k.reserved = k.nextPID + pidReserveBlock
	}
	p.pid = k.nextPID
	k.nextPID++
	p.ctx, p.cancel = context.WithCancel(k.ctx)
	k.procs[p.pid] = p
	k.wg.Add(1)
	k.mu.Unlock()
	if spec.assigned != nil {
		spec.assigned(p.pid)
	}
	k.publish(Event{Kind: EventProcessSpawn, PID: p.pid, Data: ProcessSpawnEvent{PID: p.pid, Parent: p.parent, Name: p.name, Kind: p.kind, Caps: caps,
		Action: "agent.spawn", ActionID: actionID, Agent: parent.name}})
	_ = p.transition(StateRunning, "spawned", nil)
	for _, t := range topics {
		_ = p.Subscribe(t) // checked above: can_ipc and the names
	}
	go p.run()
	return p, nil
}

// lookup returns a live (not exited) process.
func (k *Kernel) lookup(pid PID) (*Process, error) {
	k.mu.RLock()
	p, ok := k.procs[pid]
	k.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %d", ErrUnknownPID, pid)
	}
	return p, nil
}

// Process returns the live process with pid.
func (k *Kernel) Process(pid PID) (*Process, error) { return k.lookup(pid) }

// Inspect returns a snapshot of a live or recently exited process.
func (k *Kernel) Inspect(pid PID) (Info, error) {
	k.mu.RLock()
	p, ok := k.procs[pid]
	if !ok {
		for i := len(k.recent) - 1; i >= 0; i-- {
			if k.recent[i].PID == pid {
				in := k.recent[i]
				k.mu.RUnlock()
				return in, nil
			}
		}
	}
	k.mu.RUnlock()
	if !ok {
		return Info{}, fmt.Errorf("%w: %d", ErrUnknownPID, pid)
	}
	in := p.info()
	if ins, ok := p.handler.(Inspector); ok {
		in.Detail = ins.Inspect()
	}
	return in, nil
}

// PS lists live processes by PID; with exited, recently exited ones too.
func (k *Kernel) PS(exited bool) []Info {
	k.mu.RLock()
	procs := make([]*Process, 0, len(k.procs))
	for _, p := range k.procs {
		procs = append(procs, p)
	}
	var recent []Info
	if exited {
		recent = slices.Clone(k.recent)
	}
	k.mu.RUnlock()
	out := make([]Info, 0, len(procs)+len(recent))
	for _, p := range procs {
		out = append(out, p.info())
	}
	out = append(out, recent...)
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out
}

// Count returns the number of live processes, PID 0 included.
func (k *Kernel) Count() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.procs)
}

// Stop asks a process to stop: it moves to Stopping, receives a Shutdown
// signal and, if it has not exited within the grace period, is cancelled.
func (k *Kernel) Stop(pid PID) error { return k.stop(pid, nil) }

func (k *Kernel) stop(pid PID, a *act) error {
	p, err := k.target(pid)
	if err != nil {
		return err
	}
	if err := p.transition(StateStopping, "stop", a); err != nil {
		return err
	}
	select {
	case p.inbox <- &Envelope{ID: k.msgID.Add(1), From: KernelPID, Target: ToProcess(pid), Payload: SignalPayload(SignalShutdown), Timestamp: k.clock.Now()}:
	default:
		p.cancel() // inbox full: no way to ask politely
	}
	t := k.clock.AfterFunc(k.cfg.StopGrace, p.cancel)
	p.mu.Lock()
	if p.state == StateExited {
		t.Stop()
	} else {
		p.graceTimer = t
	}
	p.mu.Unlock()
	return nil
}

// Kill ends a process at once with exit code 137.
func (k *Kernel) Kill(pid PID) error { return k.kill(pid, nil) }

func (k *Kernel) kill(pid PID, a *act) error {
	p, err := k.target(pid)
	if err != nil {
		return err
	}
	if err := p.transition(StateStopping, "kill", a); err != nil && p.State() != StateStopping {
		return err
	}
	p.mu.Lock()
	if p.exitReason == "" {
		p.exitCode, p.exitReason = ExitKilled, "killed"
	}
	p.mu.Unlock()
	p.cancel()
	return nil
}

// Suspend pauses a process: it receives nothing until resumed.
func (k *Kernel) Suspend(pid PID) error { return k.suspend(pid, nil) }

func (k *Kernel) suspend(pid PID, a *act) error {
	p, err := k.target(pid)
	if err != nil {
		return err
	}
	return p.transition(StateSuspended, "suspend", a)
}

// Resume continues a suspended process.
func (k *Kernel) Resume(pid PID) error { return k.resume(pid, nil) }

func (k *Kernel) resume(pid PID, a *act) error {
	p, err := k.target(pid)
	if err != nil {
		return err
	}
	if p.State() != StateSuspended {
		return &IllegalTransitionError{PID: pid, From: p.State(), To: StateRunning}
	}
	return p.transition(StateRunning, "resume", a)
}

// Elevate replaces a live process's capabilities with caps, which may
// exceed what attenuation gave it. It is a privileged operation: the gate
// decides it as "capability.elevate" (with the added capabilities in the
// context) before anything changes.
func (k *Kernel) Elevate(ctx context.Context, pid PID, caps Capabilities) error {
	p, err := k.target(pid)
	if err != nil {
		return err
	}
	cur := p.Capabilities()
	var added []string
	for _, n := range caps.Names() {
		if !slices.Contains(cur.Names(), n) {
			added = append(added, n)
		}
	}
	actionID, err := k.gate(ctx, GateRequest{Action: "capability.elevate", PID: pid, Name: p.name, Caps: cur,
		Context: map[string]string{"added": strings.Join(added, ","), "scope": caps.IPCScope.String()}})
	if err != nil {
		return fmt.Errorf("elevate %d: %w", pid, err)
	}
	p.mu.Lock()
	p.caps = caps
	p.mu.Unlock()
	k.publish(Event{Kind: EventProcessElevate, PID: pid, Data: map[string]any{"pid": pid, "action": "capability.elevate",
		"action_id": actionID, "agent": p.name, "added": added, "capabilities": caps}})
	return nil
}

// Revoke removes a capability from a live process: can_spawn, can_ipc,
// can_exec_tools, can_network or shell. Capabilities only ever shrink this
// way; the change applies to the process's next use of the capability.
func (k *Kernel) Revoke(pid PID, capability string) error {
	p, err := k.target(pid)
	if err != nil {
		return err
	}
	p.mu.Lock()
	switch capability {
	case "can_spawn":
		p.caps.CanSpawn = false
	case "can_ipc":
		p.caps.CanIPC = false
	case "can_exec_tools":
		p.caps.CanExecTools = false
	case "can_network":
		p.caps.CanNetwork = false
		p.caps.Sandbox.Network = false
	case "shell":
		p.caps.Sandbox.Shell = false
	default:
		p.mu.Unlock()
		return fmt.Errorf("%w: unknown capability %q", ErrInvalid, capability)
	}
	p.mu.Unlock()
	k.publish(Event{Kind: EventProcessState, PID: pid, Data: map[string]any{"pid": pid, "revoked": capability}})
	return nil
}

// Wait blocks until pid has exited and returns its exit code.
func (k *Kernel) Wait(ctx context.Context, pid PID) (int, error) {
	p, err := k.lookup(pid)
	if err == nil {
		select {
		case <-p.done:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	in, err := k.Inspect(pid)
	if err != nil {
		return 0, err
	}
	if in.State != StateExited {
		return 0, fmt.Errorf("%w: process %d has not exited", ErrInvalid, pid)
	}
	return in.ExitCode, nil
}

// target looks up a process other than the kernel for a control operation.
func (k *Kernel) target(pid PID) (*Process, error) {
	if pid == KernelPID {
		return nil, fmt.Errorf("%w: PID 0 is the kernel; use shutdown", ErrInvalid)
	}
	return k.lookup(pid)
}

// exited finishes a process whose handler has returned.
func (k *Kernel) exited(p *Process, code int, reason string) {
	p.mu.Lock()
	if p.exitReason != "" && code == ExitOK && p.exitCode != 0 {
		code, reason = p.exitCode, p.exitReason // killed or limit: keep the kernel's verdict
	}
	from := p.state
	p.state, p.exitCode, p.exitReason, p.exited = StateExited, code, reason, k.clock.Now()
	if p.resume != nil {
		close(p.resume)
		p.resume = nil
	}
	monitors, links, topics := p.monitors, p.links, p.topics
	if p.graceTimer != nil {
		p.graceTimer.Stop()
	}
	p.mu.Unlock()
	p.cancel()
	k.publish(Event{Kind: EventProcessState, PID: p.pid, Data: ProcessStateEvent{PID: p.pid, From: from, To: StateExited, Why: reason}})

	// Last: leave the table and wake waiters only once every effect of the
	// exit (events, dead letters, monitors, links) has happened.
	defer func() {
		k.mu.Lock()
		delete(k.procs, p.pid)
		k.recent = append(k.recent, p.info())
		if over := len(k.recent) - k.cfg.ExitHistory; over > 0 {
			k.recent = slices.Delete(k.recent, 0, over)
		}
		k.mu.Unlock()
		close(p.done)
	}()
	for _, t := range topics {
		k.topics.removeProcess(t, p.pid)
	}
	k.services.ownerExited(k, p.pid)
	k.pending.dropOwner(p.pid)
	k.pending.failDeliveredTo(p.pid, reason)
	k.cronOwnerExited(p.pid)
	// Undelivered messages go to the dead-letter queue, not into the void.
	for {
		select {
		case env := <-p.inbox:
			if env.Payload.Kind != PayloadSignal {
				k.deadLetter(env, "recipient exited")
			}
			continue
		default:
		}
		break
	}
	k.publish(Event{Kind: EventProcessExit, PID: p.pid, Data: ProcessExitEvent{PID: p.pid, Name: p.name, Code: code, Reason: reason}})
	down, _ := json.Marshal(monitorDown{Type: "down", PID: p.pid, Name: p.name, Code: code, Reason: reason})
	for _, m := range monitors {
		if mp, err := k.lookup(m); err == nil {
			k.enqueue(mp, &Envelope{ID: k.msgID.Add(1), From: KernelPID, Target: ToProcess(m), Payload: JSONPayload(down), Timestamp: k.clock.Now()})
		}
	}
	if code != ExitOK {
		for _, l := range links {
			if lp, err := k.lookup(l); err == nil {
				lp.mu.Lock()
				if lp.exitReason == "" {
					lp.exitCode, lp.exitReason = ExitKilled, fmt.Sprintf("linked process %d exited with %d", p.pid, code)
				}
				lp.mu.Unlock()
				_ = lp.transition(StateStopping, "link", nil)
				lp.cancel()
			}
		}
	}
}

// enqueue puts env in p's inbox without blocking; a full inbox sends it to
// the dead-letter queue.
func (k *Kernel) enqueue(p *Process, env *Envelope) {
	select {
	case p.inbox <- env:
		p.inboxBytes.Add(int64(env.Payload.Size()))
	default:
		k.deadLetter(env, "inbox full")
	}
}

// Monitor makes watcher receive a "down" message (see DownMessage) when
// target exits. If target has already exited the message is sent at once.
func (k *Kernel) Monitor(watcher, target PID) error {
	w, err := k.lookup(watcher)
	if err != nil {
		return err
	}
	t, err := k.lookup(target)
	if err != nil {
		in, ierr := k.Inspect(target)
		if ierr != nil {
			return err
		}
		down, _ := json.Marshal(monitorDown{Type: "down", PID: target, Name: in.Name, Code: in.ExitCode, Reason: in.ExitReason})
		k.enqueue(w, &Envelope{ID: k.msgID.Add(1), From: KernelPID, Target: ToProcess(watcher), Payload: JSONPayload(down), Timestamp: k.clock.Now()})
		return nil
	}
	t.mu.Lock()
	if t.state == StateExited {
		// Exiting: its monitors were already notified, so notify this one
		// here (the state and the monitor list change under t.mu together).
		down, _ := json.Marshal(monitorDown{Type: "down", PID: target, Name: t.name, Code: t.exitCode, Reason: t.exitReason})
		t.mu.Unlock()
		k.enqueue(w, &Envelope{ID: k.msgID.Add(1), From: KernelPID, Target: ToProcess(watcher), Payload: JSONPayload(down), Timestamp: k.clock.Now()})
		return nil
	}
	t.monitors = append(t.monitors, watcher)
	t.mu.Unlock()
	return nil
}

// Link ties a and b: when either exits abnormally the other is killed.
func (k *Kernel) Link(a, b PID) error {
	pa, err := k.target(a)
	if err != nil {
		return err
	}
	pb, err := k.target(b)
	if err != nil {
		return err
	}
	pa.mu.Lock()
	pa.links = append(pa.links, b)
	pa.mu.Unlock()
	pb.mu.Lock()
	pb.links = append(pb.links, a)
	pb.mu.Unlock()
	return nil
}

func (k *Kernel) limitHit(p *Process, limit string, value uint64) {
	k.publish(Event{Kind: EventProcessLimit, PID: p.pid, Data: map[string]any{"pid": p.pid, "limit": limit, "value": value}})
}

// Close stops every process (gracefully, then by cancellation when ctx
// ends), stops cron and health checks, and publishes kernel.shutdown.
func (k *Kernel) Close(ctx context.Context) error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil
	}
	k.closed = true
	procs := make([]*Process, 0, len(k.procs))
	for _, p := range k.procs {
		if p.pid != KernelPID {
			procs = append(procs, p)
		}
	}
	k.mu.Unlock()
	k.cron.stopAll()
	k.services.stopChecks()
	for _, p := range procs {
		if err := k.Stop(p.pid); err != nil {
			p.cancel()
		}
	}
	done := make(chan struct{})
	go func() { k.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		k.cancel()
		<-done
		err = fmt.Errorf("kernel: processes cancelled at shutdown: %w", ctx.Err())
	}
	k.cancel()
	k.publish(Event{Kind: EventShutdown, PID: KernelPID, Data: map[string]any{"node": k.cfg.NodeID}})
	return err
}
