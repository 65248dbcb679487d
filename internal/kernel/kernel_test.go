package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftos/weftos/internal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newKernel returns a kernel with the mailbox kind that is closed when the
// test ends.
func newKernel(t testing.TB, cfg Config) *Kernel {
	t.Helper()
	k, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k.RegisterKind(MailboxKind, NewMailbox)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := k.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return k
}

// eventually waits for cond with a deadline, without fixed sleeps.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// echoHandler replies to requests with the same payload and records the
// rest on a channel.
func echoHandler(got chan<- *Envelope) Handler {
	return HandlerFunc(func(ctx context.Context, p *Process) error {
		for {
			env, err := p.Receive(ctx)
			if err != nil {
				return err
			}
			if env.Payload.Kind == PayloadSignal && env.Payload.Signal == SignalShutdown {
				return nil
			}
			if env.ReplyTo {
				if err := p.Reply(ctx, env, env.Payload); err != nil {
					return err
				}
				continue
			}
			if got != nil {
				got <- env
			}
		}
	})
}

func spawn(t testing.TB, k *Kernel, name string, parent PID, caps *Capabilities, h Handler) PID {
	t.Helper()
	spec := SpawnSpec{Name: name, Parent: parent, Handler: h, Kind: "test", InheritCaps: caps == nil}
	if caps != nil {
		spec.Caps = *caps
	}
	pid, err := k.Spawn(context.Background(), spec)
	if err != nil {
		t.Fatalf("spawn %s: %v", name, err)
	}
	return pid
}

func TestStateTransitions(t *testing.T) {
	all := []State{StateStarting, StateRunning, StateSuspended, StateStopping, StateExited}
	legal := map[[2]State]bool{
		{StateStarting, StateRunning}: true, {StateStarting, StateStopping}: true, {StateStarting, StateExited}: true,
		{StateRunning, StateSuspended}: true, {StateRunning, StateStopping}: true, {StateRunning, StateExited}: true,
		{StateSuspended, StateRunning}: true, {StateSuspended, StateStopping}: true, {StateSuspended, StateExited}: true,
		{StateStopping, StateExited}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := from.CanTransition(to); got != legal[[2]State{from, to}] {
				t.Errorf("%s → %s: CanTransition = %v", from, to, got)
			}
		}
	}
	for _, s := range all {
		var back State
		if err := back.UnmarshalText([]byte(s.String())); err != nil || back != s {
			t.Errorf("round trip %s: %v %v", s, back, err)
		}
	}
}

func TestLifecycle(t *testing.T) {
	k := newKernel(t, Config{})
	got := make(chan *Envelope, 4)
	pid := spawn(t, k, "echo", KernelPID, nil, echoHandler(got))
	if pid == KernelPID {
		t.Fatal("spawned process got PID 0")
	}
	if in, _ := k.Inspect(pid); in.State != StateRunning {
		t.Fatalf("state after spawn = %s", in.State)
	}
	if err := k.Resume(pid); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("resume of a running process: %v, want ErrIllegalTransition", err)
	}
	if err := k.Suspend(pid); err != nil {
		t.Fatal(err)
	}
	if err := k.Suspend(pid); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("double suspend: %v", err)
	}
	// A suspended process receives nothing.
	ctx := context.Background()
	if _, err := k.Send(ctx, &Envelope{From: KernelPID, Target: ToProcess(pid), Payload: Text("while suspended")}); err != nil {
		t.Fatal(err)
	}
	select {
	case env := <-got:
		t.Fatalf("suspended process received %v", env)
	case <-time.After(20 * time.Millisecond):
	}
	if err := k.Resume(pid); err != nil {
		t.Fatal(err)
	}
	if env := <-got; env.Payload.Text != "while suspended" {
		t.Fatalf("got %q", env.Payload.Text)
	}
	if err := k.Stop(pid); err != nil {
		t.Fatal(err)
	}
	code, err := k.Wait(ctx, pid)
	if err != nil || code != 0 {
		t.Fatalf("Wait = %d, %v", code, err)
	}
	in, err := k.Inspect(pid)
	if err != nil || in.State != StateExited {
		t.Fatalf("inspect after exit: %+v %v", in, err)
	}
	if err := k.Stop(pid); !errors.Is(err, ErrUnknownPID) {
		t.Fatalf("stop of an exited process: %v", err)
	}
	if _, err := k.Inspect(999999); !errors.Is(err, ErrUnknownPID) {
		t.Fatalf("inspect unknown: %v", err)
	}
	if err := k.Kill(KernelPID); !errors.Is(err, ErrInvalid) {
		t.Fatalf("kill PID 0: %v", err)
	}
}

func TestPIDsMonotonicAndReserved(t *testing.T) {
	var reserved []PID
	k := newKernel(t, Config{FirstPID: 100, Reserve: func(p PID) error { reserved = append(reserved, p); return nil }})
	var last PID
	for range 5 {
		pid := spawn(t, k, "p", KernelPID, nil, echoHandler(nil))
		if pid <= last || pid < 100 {
			t.Fatalf("PID %d after %d", pid, last)
		}
		last = pid
		if err := k.Kill(pid); err != nil {
			t.Fatal(err)
		}
		if _, err := k.Wait(context.Background(), pid); err != nil {
			t.Fatal(err)
		}
	}
	if len(reserved) != 1 || reserved[0] != 100+pidReserveBlock {
		t.Fatalf("reservations = %v", reserved)
	}
}

func TestExitCodes(t *testing.T) {
	k := newKernel(t, Config{})
	ctx := context.Background()
	cases := []struct {
		name string
		h    HandlerFunc
		code int
	}{
		{"ok", func(context.Context, *Process) error { return nil }, 0},
		{"error", func(context.Context, *Process) error { return errors.New("boom") }, 1},
		{"exit", func(context.Context, *Process) error { return &ExitError{Code: 42, Reason: "x"} }, 42},
		{"panic", func(context.Context, *Process) error { panic("kaboom") }, ExitPanic},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pid := spawn(t, k, c.name, KernelPID, nil, c.h)
			code, err := k.Wait(ctx, pid)
			if err != nil || code != c.code {
				t.Fatalf("exit = %d, %v; want %d", code, err, c.code)
			}
		})
	}
	blocked := spawn(t, k, "blocked", KernelPID, nil, HandlerFunc(func(ctx context.Context, p *Process) error {
		<-ctx.Done()
		return ctx.Err()
	}))
	if err := k.Kill(blocked); err != nil {
		t.Fatal(err)
	}
	if code, _ := k.Wait(ctx, blocked); code != ExitKilled {
		t.Fatalf("killed exit code = %d", code)
	}
}

func TestStopGraceCancels(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	k := newKernel(t, Config{Clock: fc, StopGrace: time.Second})
	stubborn := spawn(t, k, "stubborn", KernelPID, nil, HandlerFunc(func(ctx context.Context, p *Process) error {
		<-ctx.Done() // ignores the Shutdown message
		return nil
	}))
	if err := k.Stop(stubborn); err != nil {
		t.Fatal(err)
	}
	if in, _ := k.Inspect(stubborn); in.State != StateStopping {
		t.Fatalf("state = %s", in.State)
	}
	fc.Advance(time.Second)
	if _, err := k.Wait(context.Background(), stubborn); err != nil {
		t.Fatal(err)
	}
}

func TestMaxProcesses(t *testing.T) {
	k := newKernel(t, Config{MaxProcesses: 2})
	spawn(t, k, "a", KernelPID, nil, echoHandler(nil))
	spawn(t, k, "b", KernelPID, nil, echoHandler(nil))
	_, err := k.Spawn(context.Background(), SpawnSpec{Name: "c", Parent: KernelPID, Handler: echoHandler(nil), InheritCaps: true})
	if !errors.Is(err, ErrMaxProcesses) {
		t.Fatalf("third spawn: %v", err)
	}
}

func TestSpawnUnknownKindAndParent(t *testing.T) {
	k := newKernel(t, Config{})
	ctx := context.Background()
	if _, err := k.Spawn(ctx, SpawnSpec{Name: "x", Kind: "nope", InheritCaps: true}); !errors.Is(err, ErrUnknownHandler) {
		t.Fatalf("unknown kind: %v", err)
	}
	if _, err := k.Spawn(ctx, SpawnSpec{Name: "x", Parent: 4242, Kind: MailboxKind, InheritCaps: true}); !errors.Is(err, ErrUnknownPID) {
		t.Fatalf("unknown parent: %v", err)
	}
	if _, err := k.Spawn(ctx, SpawnSpec{Kind: MailboxKind}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no name: %v", err)
	}
	if _, err := k.Spawn(ctx, SpawnSpec{Name: "m", Kind: MailboxKind, Args: json.RawMessage(`{"keep":"x"}`)}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad args: %v", err)
	}
}

type denyGate struct{ action string }

func (g denyGate) Check(_ context.Context, r GateRequest) error {
	if r.Action == g.action {
		return errors.Join(ErrDenied, errors.New("rule no-spawn"))
	}
	return nil
}

func (denyGate) Refused(context.Context, GateRequest, error) {}

// recGate records what it was asked and what the kernel refused itself,
// denying actions listed in deny.
type recGate struct {
	mu      sync.Mutex
	deny    map[string]bool
	asked   []GateRequest
	refused []GateRequest
}

func (g *recGate) Check(_ context.Context, r GateRequest) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.asked = append(g.asked, r)
	if g.deny[r.Action] {
		return fmt.Errorf("%w: %s", ErrDenied, r.Action)
	}
	return nil
}

func (g *recGate) Refused(_ context.Context, r GateRequest, _ error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refused = append(g.refused, r)
}

func (g *recGate) last() (GateRequest, []GateRequest) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.asked[len(g.asked)-1], slices.Clone(g.refused)
}

// TestControlIsGated: stop/kill/suspend/resume on behalf of an actor ask
// the gate (process.OP, with the target in the context), a denial changes
// nothing, a non-ancestor is refused before the gate and the refusal is
// reported, and the state event carries the action id.
func TestControlIsGated(t *testing.T) {
	g := &recGate{deny: map[string]bool{"process.kill": true}}
	k := newKernel(t, Config{Gate: g})
	ctx := context.Background()
	var events []ProcessStateEvent
	var emu sync.Mutex
	unsub := k.Bus().Subscribe(func(ev Event) {
		if se, ok := ev.Data.(ProcessStateEvent); ok {
			emu.Lock()
			events = append(events, se)
			emu.Unlock()
		}
	})
	defer unsub()
	a, _ := k.Spawn(ctx, SpawnSpec{Name: "a", Kind: MailboxKind, Caps: RootCapabilities()})
	b, _ := k.Spawn(ctx, SpawnSpec{Name: "b", Kind: MailboxKind, Caps: RootCapabilities()})
	if err := k.Control(ctx, KernelPID, a, OpKill); !errors.Is(err, ErrDenied) {
		t.Fatalf("denied kill: %v", err)
	}
	if st := mustInfo(t, k, a).State; st != StateRunning {
		t.Fatalf("a denied kill changed the state to %s", st)
	}
	if err := k.Control(ctx, KernelPID, a, OpSuspend); err != nil {
		t.Fatal(err)
	}
	req, _ := g.last()
	if req.Action != "process.suspend" || req.Context["target_pid"] != a.String() || req.Context["target_name"] != "a" {
		t.Fatalf("gate request %+v", req)
	}
	emu.Lock()
	last := events[len(events)-1]
	emu.Unlock()
	if last.To != StateSuspended || last.Action != "process.suspend" || last.ActionID != req.ActionID || last.ActionID == "" {
		t.Fatalf("state event %+v (action id %q)", last, req.ActionID)
	}
	// b is not an ancestor of a: refused by the kernel, reported.
	if err := k.Control(ctx, b, a, OpResume); !errors.Is(err, ErrCapability) {
		t.Fatalf("non-ancestor resume: %v", err)
	}
	if _, refused := g.last(); len(refused) != 1 || refused[0].Action != "process.resume" {
		t.Fatalf("refusals %+v", refused)
	}
	if err := k.Control(ctx, KernelPID, a, "explode"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown op: %v", err)
	}
}

// TestSpawnGateSeesChildCapabilities: the spawn decision's context holds
// what the child will hold, not only the parent's capabilities.
func TestSpawnGateSeesChildCapabilities(t *testing.T) {
	g := &recGate{}
	k := newKernel(t, Config{Gate: g})
	caps := Capabilities{CanIPC: true, CanNetwork: true, IPCScope: ScopeToParent, Tools: ToolPolicy{Allow: []string{"read_file"}},
		Sandbox: SandboxPolicy{Shell: true}, Limits: Limits{ToolCalls: 7}}
	if _, err := k.Spawn(context.Background(), SpawnSpec{Name: "child", Kind: MailboxKind, Caps: caps}); err != nil {
		t.Fatal(err)
	}
	req, _ := g.last()
	if req.Action != "agent.spawn" || req.Context["child_capabilities"] != "can_ipc,can_network,shell" ||
		req.Context["child_scope"] != "parent" || req.Context["child_tools_allow"] != "read_file" || req.Context["child_limit_tool_calls"] != "7" {
		t.Fatalf("spawn request context %v", req.Context)
	}
}

func mustInfo(t *testing.T, k *Kernel, pid PID) Info {
	t.Helper()
	in, err := k.Inspect(pid)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestGateRefusesSpawn(t *testing.T) {
	k := newKernel(t, Config{Gate: denyGate{"agent.spawn"}})
	_, err := k.Spawn(context.Background(), SpawnSpec{Name: "x", Kind: MailboxKind, InheritCaps: true})
	if !errors.Is(err, ErrDenied) {
		t.Fatalf("spawn through a denying gate: %v", err)
	}
	if k.Count() != 1 {
		t.Fatalf("a denied spawn left %d processes", k.Count())
	}
}

func TestMonitorAndLink(t *testing.T) {
	k := newKernel(t, Config{})
	ctx := context.Background()
	got := make(chan *Envelope, 4)
	watcher := spawn(t, k, "watcher", KernelPID, nil, echoHandler(got))
	failing := make(chan struct{})
	target := spawn(t, k, "target", KernelPID, nil, HandlerFunc(func(ctx context.Context, p *Process) error {
		<-failing
		return errors.New("failed")
	}))
	if err := k.Monitor(watcher, target); err != nil {
		t.Fatal(err)
	}
	linked := spawn(t, k, "linked", KernelPID, nil, echoHandler(nil))
	if err := k.Link(target, linked); err != nil {
		t.Fatal(err)
	}
	close(failing)
	env := <-got
	pid, code, reason, ok := DownMessage(env)
	if !ok || pid != target || code != 1 || reason != "failed" {
		t.Fatalf("down message = %v %d %q %v", pid, code, reason, ok)
	}
	code, err := k.Wait(ctx, linked)
	if err != nil || code != ExitKilled {
		t.Fatalf("linked process exit = %d, %v", code, err)
	}
	// Monitoring an exited process reports at once.
	if err := k.Monitor(watcher, target); err != nil {
		t.Fatal(err)
	}
	if _, _, _, ok := DownMessage(<-got); !ok {
		t.Fatal("no immediate down for an exited process")
	}
}

func TestCPUTimeLimit(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	k := newKernel(t, Config{Clock: fc})
	caps := RootCapabilities()
	caps.Limits.CPUTime = time.Second
	busy := make(chan struct{})
	pid := spawn(t, k, "busy", KernelPID, &caps, HandlerFunc(func(ctx context.Context, p *Process) error {
		if _, err := p.Receive(ctx); err != nil {
			return err
		}
		busy <- struct{}{} // "works" while the test advances the clock
		<-busy
		_, err := p.Receive(ctx)
		return err
	}))
	if _, err := k.Send(context.Background(), &Envelope{From: KernelPID, Target: ToProcess(pid), Payload: Text("go")}); err != nil {
		t.Fatal(err)
	}
	<-busy
	fc.Advance(2 * time.Second)
	busy <- struct{}{}
	code, err := k.Wait(context.Background(), pid)
	if err != nil || code != ExitLimit {
		t.Fatalf("exit = %d, %v; want %d", code, err, ExitLimit)
	}
	if in, _ := k.Inspect(pid); in.CPUTime.Duration() < 2*time.Second {
		t.Fatalf("cpu time = %s", in.CPUTime.Duration())
	}
}

func TestToolAndTokenCharges(t *testing.T) {
	k := newKernel(t, Config{})
	caps := RootCapabilities()
	caps.Tools = ToolPolicy{Allow: []string{"fs.*"}, Deny: []string{"fs.delete"}}
	caps.Limits.ToolCalls = 2
	caps.Limits.Tokens = 100
	pid := spawn(t, k, "agent", KernelPID, &caps, echoHandler(nil))
	p, _ := k.Process(pid)
	if err := p.ChargeToolCall("shell.exec"); !errors.Is(err, ErrCapability) {
		t.Fatalf("tool not allowed: %v", err)
	}
	if err := p.ChargeToolCall("fs.delete"); !errors.Is(err, ErrCapability) {
		t.Fatalf("denied tool: %v", err)
	}
	for i := range 2 {
		if err := p.ChargeToolCall("fs.read"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if err := p.ChargeToolCall("fs.read"); !errors.Is(err, ErrLimit) {
		t.Fatalf("third call: %v", err)
	}
	if err := p.ChargeTokens(60); err != nil {
		t.Fatal(err)
	}
	if err := p.ChargeTokens(60); !errors.Is(err, ErrLimit) {
		t.Fatalf("token overrun: %v", err)
	}
	noTools := RootCapabilities()
	noTools.CanExecTools = false
	q, _ := k.Process(spawn(t, k, "no-tools", KernelPID, &noTools, echoHandler(nil)))
	if err := q.ChargeToolCall("fs.read"); !errors.Is(err, ErrCapability) {
		t.Fatalf("without can_exec_tools: %v", err)
	}
}

func TestErrorCodes(t *testing.T) {
	for _, c := range codes {
		if got := Code(c.err); got != c.code {
			t.Errorf("Code(%v) = %q, want %q", c.err, got, c.code)
		}
		if ErrorForCode(c.code) != c.err {
			t.Errorf("ErrorForCode(%q) mismatch", c.code)
		}
	}
	if Code(errors.New("x")) != "internal" || Code(nil) != "" {
		t.Error("fallback codes wrong")
	}
	wrapped := &IllegalTransitionError{PID: 1, From: StateExited, To: StateRunning}
	if Code(wrapped) != "illegal_transition" {
		t.Errorf("typed error code = %q", Code(wrapped))
	}
}

// waitUntil polls cond (a state other goroutines change) for up to 10 s.
func waitUntil(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}
