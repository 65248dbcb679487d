package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestScopeRules(t *testing.T) {
	k := newKernel(t, Config{})
	ctx := context.Background()
	parent := spawn(t, k, "parent", KernelPID, nil, echoHandler(nil))
	other := spawn(t, k, "other", KernelPID, nil, echoHandler(nil))
	if err := k.RegisterService(ServiceSpec{Name: "svc", Owner: other, Methods: []string{"get"}}); err != nil {
		t.Fatal(err)
	}
	mk := func(scope IPCScope, canIPC bool) PID {
		c := RootCapabilities()
		c.IPCScope, c.CanIPC = scope, canIPC
		pp, _ := k.Process(parent)
		pid, err := k.Spawn(ctx, SpawnSpec{Name: "child", Parent: pp.pid, Handler: echoHandler(nil), Caps: c})
		if err != nil {
			t.Fatalf("spawn with %s: %v", scope, err)
		}
		return pid
	}
	k.SubscribeFunc("news", func(*Envelope) bool { return true })
	k.SubscribeFunc("secret", func(*Envelope) bool { return true })
	cases := []struct {
		name   string
		scope  IPCScope
		canIPC bool
		target Target
		ok     bool
	}{
		{"all to other", ScopeAllowAll, true, ToProcess(other), true},
		{"all broadcast", ScopeAllowAll, true, ToBroadcast(), true},
		{"all kernel", ScopeAllowAll, true, ToKernel(), true},
		{"no can_ipc", ScopeAllowAll, false, ToProcess(other), false},
		{"none", ScopeDenyAll, true, ToProcess(parent), false},
		{"parent to parent", ScopeToParent, true, ToProcess(parent), true},
		{"parent to other", ScopeToParent, true, ToProcess(other), false},
		{"parent broadcast", ScopeToParent, true, ToBroadcast(), false},
		{"parent kernel", ScopeToParent, true, ToKernel(), false},
		{"restricted hit", RestrictedTo(other), true, ToProcess(other), true},
		{"restricted miss", RestrictedTo(other), true, ToProcess(parent), false},
		{"restricted via service", RestrictedTo(other), true, ToService("svc"), true},
		{"restricted via method", RestrictedTo(other), true, ToMethod("svc", "get"), true},
		{"parent-only via service", ScopeToParent, true, ToService("svc"), false},
		{"topic hit", TopicsOnly("news"), true, ToTopic("news"), true},
		{"topic miss", TopicsOnly("news"), true, ToTopic("secret"), false},
		{"topic to process", TopicsOnly("news"), true, ToProcess(parent), false},
		{"restricted to topic", RestrictedTo(other), true, ToTopic("news"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pid := mk(c.scope, c.canIPC)
			p, _ := k.Process(pid)
			payload := Text("hi")
			if c.target.Kind == TargetKernel {
				payload = JSONPayload(json.RawMessage(`{"op":"status"}`))
			}
			err := p.Send(ctx, c.target, payload)
			if c.ok && err != nil {
				t.Fatalf("send: %v", err)
			}
			if !c.ok && !errors.Is(err, ErrScope) {
				t.Fatalf("send: %v, want ErrScope", err)
			}
		})
	}
}

func TestRequestResponseAndDeadline(t *testing.T) {
	k := newKernel(t, Config{StopGrace: 50 * time.Millisecond})
	ctx := context.Background()
	echo := spawn(t, k, "echo", KernelPID, nil, echoHandler(nil))
	client, _ := k.Process(spawn(t, k, "client", KernelPID, nil, echoHandler(nil)))
	r, err := client.Request(ctx, ToProcess(echo), Text("ping?"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Payload.Text != "ping?" || r.From != echo || r.CorrelationID == 0 {
		t.Fatalf("reply = %+v", r)
	}
	// The kernel answers requests to the Kernel target for real.
	r, err = client.Request(ctx, ToKernel(), JSONPayload(json.RawMessage(`{"op":"ps"}`)))
	if err != nil {
		t.Fatal(err)
	}
	var rep KernelReply
	if err := json.Unmarshal(r.Payload.JSON, &rep); err != nil || !rep.OK || len(rep.Processes) != 3 {
		t.Fatalf("kernel ps reply = %+v, %v", rep, err)
	}
	// A process that never answers: the deadline ends the wait.
	silent := spawn(t, k, "silent", KernelPID, nil, HandlerFunc(func(ctx context.Context, p *Process) error {
		<-ctx.Done()
		return nil
	}))
	dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := client.Request(dctx, ToProcess(silent), Text("hello?")); !errors.Is(err, ErrDeadline) {
		t.Fatalf("request to a silent process: %v", err)
	}
}

func TestKernelTargetOps(t *testing.T) {
	k := newKernel(t, Config{})
	ctx := context.Background()
	client, _ := k.Process(spawn(t, k, "client", KernelPID, nil, echoHandler(nil)))
	ask := func(req string) KernelReply {
		t.Helper()
		r, err := client.Request(ctx, ToKernel(), JSONPayload(json.RawMessage(req)))
		if err != nil {
			t.Fatalf("%s: %v", req, err)
		}
		var rep KernelReply
		if err := json.Unmarshal(r.Payload.JSON, &rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	rep := ask(`{"op":"spawn","spawn":{"name":"kid","kind":"mailbox"}}`)
	if !rep.OK || rep.PID == 0 {
		t.Fatalf("spawn reply %+v", rep)
	}
	kid, _ := k.Inspect(rep.PID)
	if kid.Parent != client.pid {
		t.Fatalf("kid parent = %d, want %d", kid.Parent, client.pid)
	}
	if st := ask(`{"op":"status"}`); st.Status == nil || st.Status.Processes != 3 {
		t.Fatalf("status = %+v", st.Status)
	}
	if rep := ask(`{"op":"stop","pid":` + rep.PID.String() + `}`); !rep.OK {
		t.Fatalf("stop: %+v", rep)
	}
	if _, err := k.Wait(ctx, kid.PID); err != nil {
		t.Fatal(err)
	}
	// A process may not stop one it did not spawn.
	stranger := spawn(t, k, "stranger", KernelPID, nil, echoHandler(nil))
	if rep := ask(`{"op":"kill","pid":` + stranger.String() + `}`); rep.OK || rep.Code != "capability_denied" {
		t.Fatalf("kill of a non-descendant: %+v", rep)
	}
	if rep := ask(`{"op":"reboot"}`); rep.OK || rep.Code != "bad_kernel_request" {
		t.Fatalf("unknown op: %+v", rep)
	}
	if err := client.Send(ctx, ToKernel(), Text("not json")); !errors.Is(err, ErrBadKernelRequest) {
		t.Fatalf("text to kernel: %v", err)
	}
}

func TestDeadLettersAndBackpressure(t *testing.T) {
	k := newKernel(t, Config{InboxCapacity: 2, DLQCapacity: 3})
	ctx := context.Background()
	block := make(chan struct{})
	slow := spawn(t, k, "slow", KernelPID, nil, HandlerFunc(func(ctx context.Context, p *Process) error {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil
	}))
	send := func(ctx context.Context, to PID) error {
		_, err := k.Send(ctx, &Envelope{From: KernelPID, Target: ToProcess(to), Payload: Text("x")})
		return err
	}
	for range 2 {
		if err := send(ctx, slow); err != nil {
			t.Fatal(err)
		}
	}
	tctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	err := send(tctx, slow)
	cancel()
	if !errors.Is(err, ErrInboxFull) {
		t.Fatalf("send to a full inbox: %v", err)
	}
	if err := send(ctx, 99999); !errors.Is(err, ErrUnknownPID) {
		t.Fatalf("send to unknown PID: %v", err)
	}
	dl := k.DeadLetters()
	if len(dl) != 2 || dl[0].Reason != "inbox full" || dl[1].Reason != "no such process" {
		t.Fatalf("dead letters = %+v", dl)
	}
	close(block)
	if _, err := k.Wait(ctx, slow); err != nil {
		t.Fatal(err)
	}
	// The two queued messages were never read: they are dead letters now,
	// and the bounded queue evicted the oldest.
	total, evicted := k.DLQStats()
	if total != 4 || evicted != 1 || len(k.DeadLetters()) != 3 {
		t.Fatalf("total=%d evicted=%d len=%d", total, evicted, len(k.DeadLetters()))
	}
	if _, err := k.Send(ctx, &Envelope{From: KernelPID, Target: ToRemote("node-b", ToProcess(1)), Payload: Text("x")}); !errors.Is(err, ErrMeshNotEnabled) {
		t.Fatalf("remote target: %v", err)
	}
	if _, err := k.Send(ctx, &Envelope{From: KernelPID, Target: ToProcess(1), Payload: Payload{Kind: PayloadJSON, JSON: json.RawMessage("{")}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid JSON payload: %v", err)
	}
}

func TestInboxMemoryLimit(t *testing.T) {
	k := newKernel(t, Config{})
	caps := RootCapabilities()
	caps.Limits.MemoryBytes = 10
	block := make(chan struct{})
	pid := spawn(t, k, "small", KernelPID, &caps, HandlerFunc(func(ctx context.Context, p *Process) error {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil
	}))
	defer close(block)
	ctx := context.Background()
	if _, err := k.Send(ctx, &Envelope{From: KernelPID, Target: ToProcess(pid), Payload: Text("12345678")}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Send(ctx, &Envelope{From: KernelPID, Target: ToProcess(pid), Payload: Text("12345")}); !errors.Is(err, ErrInboxFull) {
		t.Fatalf("send past the memory limit: %v", err)
	}
}

func TestMessageLimit(t *testing.T) {
	k := newKernel(t, Config{})
	caps := RootCapabilities()
	caps.Limits.Messages = 1
	sender, _ := k.Process(spawn(t, k, "sender", KernelPID, &caps, echoHandler(nil)))
	to := spawn(t, k, "to", KernelPID, nil, echoHandler(make(chan *Envelope, 4)))
	ctx := context.Background()
	if err := sender.Send(ctx, ToProcess(to), Text("1")); err != nil {
		t.Fatal(err)
	}
	if err := sender.Send(ctx, ToProcess(to), Text("2")); !errors.Is(err, ErrLimit) {
		t.Fatalf("second message: %v", err)
	}
}

func TestTopicsAndBroadcast(t *testing.T) {
	k := newKernel(t, Config{})
	ctx := context.Background()
	a := make(chan *Envelope, 4)
	b := make(chan *Envelope, 4)
	pa := spawn(t, k, "a", KernelPID, nil, echoHandler(a))
	pb := spawn(t, k, "b", KernelPID, nil, echoHandler(b))
	proc, _ := k.Process(pa)
	if err := proc.Subscribe("news"); err != nil {
		t.Fatal(err)
	}
	sink := make(chan *Envelope, 1)
	cancel := k.SubscribeFunc("news", func(e *Envelope) bool {
		select {
		case sink <- e:
			return true
		default:
			return false
		}
	})
	defer cancel()
	if _, err := k.Send(ctx, &Envelope{From: pb, Target: ToTopic("news"), Payload: Text("extra")}); err != nil {
		t.Fatal(err)
	}
	if e := <-a; e.Payload.Text != "extra" {
		t.Fatalf("a got %q", e.Payload.Text)
	}
	if e := <-sink; e.Payload.Text != "extra" {
		t.Fatalf("sink got %q", e.Payload.Text)
	}
	if tp := k.Topics(); len(tp) != 1 || tp[0].Subscribers != 2 {
		t.Fatalf("topics = %+v", tp)
	}
	if _, err := k.Send(ctx, &Envelope{From: KernelPID, Target: ToBroadcast(), Payload: Text("all")}); err != nil {
		t.Fatal(err)
	}
	if (<-a).Payload.Text != "all" || (<-b).Payload.Text != "all" {
		t.Fatal("broadcast not delivered to both")
	}
	// Nobody listens: a dead letter.
	if _, err := k.Send(ctx, &Envelope{From: KernelPID, Target: ToTopic("void"), Payload: Text("?")}); err != nil {
		t.Fatal(err)
	}
	if dl := k.DeadLetters(); len(dl) == 0 || dl[len(dl)-1].Reason != "topic has no subscribers" {
		t.Fatalf("dead letters %+v", dl)
	}
}

func TestControlSignals(t *testing.T) {
	k := newKernel(t, Config{})
	ctx := context.Background()
	parent, _ := k.Process(spawn(t, k, "parent", KernelPID, nil, echoHandler(nil)))
	child, err := k.Spawn(ctx, SpawnSpec{Name: "child", Parent: parent.pid, Handler: echoHandler(nil), InheritCaps: true})
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := k.Process(spawn(t, k, "stranger", KernelPID, nil, echoHandler(nil)))
	if err := stranger.Send(ctx, ToProcess(child), SignalPayload(SignalKill)); !errors.Is(err, ErrCapability) {
		t.Fatalf("kill from a stranger: %v", err)
	}
	if err := parent.Send(ctx, ToProcess(child), SignalPayload(SignalSuspend)); err != nil {
		t.Fatal(err)
	}
	if in, _ := k.Inspect(child); in.State != StateSuspended {
		t.Fatalf("state = %s", in.State)
	}
	if err := parent.Send(ctx, ToProcess(child), SignalPayload(SignalResume)); err != nil {
		t.Fatal(err)
	}
	// Ping is answered with Pong by a receiving process.
	r, err := parent.Request(ctx, ToProcess(child), SignalPayload(SignalPing))
	if err != nil || r.Payload.Signal != SignalPong {
		t.Fatalf("ping: %+v %v", r, err)
	}
	if err := parent.Send(ctx, ToProcess(child), SignalPayload(SignalKill)); err != nil {
		t.Fatal(err)
	}
	if code, _ := k.Wait(ctx, child); code != ExitKilled {
		t.Fatalf("exit code %d", code)
	}
}

func TestServices(t *testing.T) {
	k := newKernel(t, Config{})
	ctx := context.Background()
	got := make(chan *Envelope, 2)
	owner := spawn(t, k, "owner", KernelPID, nil, echoHandler(got))
	if err := k.RegisterService(ServiceSpec{Name: "kv", Type: "builtin", Owner: owner, Methods: []string{"get", "put"}}); err != nil {
		t.Fatal(err)
	}
	if err := k.RegisterService(ServiceSpec{Name: "kv", Owner: owner}); !errors.Is(err, ErrServiceExists) {
		t.Fatalf("duplicate: %v", err)
	}
	unready := errors.New("warming up")
	if err := k.RegisterService(ServiceSpec{Name: "slow", Owner: owner, Readiness: func(context.Context) error { return unready }}); err != nil {
		t.Fatal(err)
	}
	if h := k.Health(); h.Status != Degraded || len(h.Degraded) != 1 || h.Degraded[0] != "slow" {
		t.Fatalf("health = %+v", h)
	}
	if _, err := k.Send(ctx, &Envelope{From: KernelPID, Target: ToMethod("kv", "get"), Payload: Text("k")}); err != nil {
		t.Fatal(err)
	}
	if e := <-got; e.Target.Method != "get" {
		t.Fatalf("target = %v", e.Target)
	}
	if _, err := k.Send(ctx, &Envelope{From: KernelPID, Target: ToMethod("kv", "drop"), Payload: Text("k")}); !errors.Is(err, ErrUnknownMethod) {
		t.Fatalf("unknown method: %v", err)
	}
	if _, err := k.Send(ctx, &Envelope{From: KernelPID, Target: ToService("nope"), Payload: Text("k")}); !errors.Is(err, ErrUnknownService) {
		t.Fatalf("unknown service: %v", err)
	}
	if err := k.UnregisterService("slow"); err != nil {
		t.Fatal(err)
	}
	if h := k.Health(); h.Status != Healthy {
		t.Fatalf("health = %+v", h)
	}
	// The owner exits: its services go with it.
	if err := k.Stop(owner); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Wait(ctx, owner); err != nil {
		t.Fatal(err)
	}
	if s := k.Services(); len(s) != 0 {
		t.Fatalf("services after owner exit: %+v", s)
	}
}

func TestEventsPublished(t *testing.T) {
	k := newKernel(t, Config{})
	kinds := make(chan EventKind, 64)
	unsub := k.Bus().Subscribe(func(e Event) { kinds <- e.Kind })
	ctx := context.Background()
	pid := spawn(t, k, "p", KernelPID, nil, echoHandler(nil))
	if _, err := k.Send(ctx, &Envelope{From: KernelPID, Target: ToProcess(pid), Payload: Text("x")}); err != nil {
		t.Fatal(err)
	}
	if err := k.Kill(pid); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Wait(ctx, pid); err != nil {
		t.Fatal(err)
	}
	unsub()
	close(kinds)
	seen := map[EventKind]bool{}
	for kd := range kinds {
		seen[kd] = true
	}
	for _, want := range []EventKind{EventProcessSpawn, EventProcessState, EventIPCSend, EventProcessExit} {
		if !seen[want] {
			t.Errorf("no %s event (saw %v)", want, seen)
		}
	}
}

// spreadRemote is a Remote whose Spread fails for one node.
type spreadRemote struct{ spread chan *Envelope }

func (r *spreadRemote) Deliver(context.Context, string, *Envelope) (*Envelope, error) {
	return nil, ErrMeshNotEnabled
}
func (r *spreadRemote) Service(context.Context, *Envelope) (*Envelope, error) {
	return nil, ErrUnknownService
}
func (r *spreadRemote) Spread(_ context.Context, env *Envelope) map[string]error {
	r.spread <- env
	return map[string]error{"n-down": errors.New("no answer")}
}

var _ Remote = (*spreadRemote)(nil)

// TestSpreadFailureIsDeadLettered: a topic message that did not reach a
// node of the cluster is a dead letter naming the node, never dropped
// silently; one from another node is not spread again.
func TestSpreadFailureIsDeadLettered(t *testing.T) {
	k := newKernel(t, Config{})
	r := &spreadRemote{spread: make(chan *Envelope, 2)}
	k.SetRemote(r)
	ctx := context.Background()
	if _, err := k.Send(ctx, &Envelope{From: KernelPID, Target: ToTopic("news"), Payload: Text("x")}); err != nil {
		t.Fatal(err)
	}
	if e := <-r.spread; e.Payload.Text != "x" {
		t.Fatalf("spread %+v", e)
	}
	found := false
	for _, dl := range k.DeadLetters() {
		if strings.Contains(dl.Reason, "not delivered to node n-down: no answer") {
			found = true
		}
	}
	if !found {
		t.Fatalf("dead letters %+v", k.DeadLetters())
	}
	if _, err := k.Inbound(ctx, "n-other", &Envelope{From: KernelPID, Target: ToTopic("news"), Payload: Text("y")}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-r.spread:
		t.Fatalf("a message from another node spread again: %+v", e)
	default:
	}
}

// TestMailboxSubscribedAtSpawn: a mailbox spawned with topics is
// subscribed when Spawn returns, so a message published at once reaches it
// (it used to subscribe as it started running, and such a message could
// find no subscriber); without can_ipc the spawn is refused.
func TestMailboxSubscribedAtSpawn(t *testing.T) {
	k := newKernel(t, Config{})
	ctx := context.Background()
	for i := range 50 {
		topic := fmt.Sprintf("news-%d", i)
		pid, err := k.Spawn(ctx, SpawnSpec{Name: "sub", Kind: MailboxKind, InheritCaps: true, Args: json.RawMessage(`{"topics":["` + topic + `"]}`)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.Send(ctx, &Envelope{From: KernelPID, Target: ToTopic(topic), Payload: Text("now")}); err != nil {
			t.Fatal(err)
		}
		for _, dl := range k.DeadLetters() {
			if dl.Envelope.Target.Topic == topic {
				t.Fatalf("message to %s right after spawning %d dead-lettered: %s", topic, pid, dl.Reason)
			}
		}
	}
	if _, err := k.Spawn(ctx, SpawnSpec{Name: "bad", Kind: MailboxKind, InheritCaps: true, Args: json.RawMessage(`{"topics":["a\nb"]}`)}); err == nil {
		t.Fatal("a mailbox subscribing to a topic named with a newline was spawned")
	}
	if _, err := k.Spawn(ctx, SpawnSpec{Name: "mute", Kind: MailboxKind, Caps: Capabilities{}, Args: json.RawMessage(`{"topics":["x"]}`)}); !errors.Is(err, ErrCapability) {
		t.Fatalf("a mailbox without can_ipc subscribing to a topic: %v", err)
	}
}

// TestTargetString: a process target is "process:" and the pid in
// decimal, whatever the pid.
func TestTargetString(t *testing.T) {
	for _, pid := range []PID{KernelPID, 1, 99, 100, 123456, PID(math.MaxUint64)} {
		if got, want := ToProcess(pid).String(), "process:"+strconv.FormatUint(uint64(pid), 10); got != want {
			t.Errorf("ToProcess(%d).String() = %q, want %q", pid, got, want)
		}
	}
}
