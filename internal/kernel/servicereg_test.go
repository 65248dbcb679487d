package kernel

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/clock"
)

// stubborn ignores its inbox: once stopped it stays Stopping until its
// grace period ends (never, on a fake clock) or the kernel closes.
func stubborn() Handler {
	return HandlerFunc(func(ctx context.Context, p *Process) error {
		<-ctx.Done()
		return nil
	})
}

// TestServiceTargetErrors: a message to a service that cannot take it is
// an error for the sender and is not dead-lettered — before the fix a
// built-in service owned by PID 0 accepted the send ("sent") and the
// message went to the dead-letter queue, and a stopping owner's service
// took messages into the dead-letter queue.
func TestServiceTargetErrors(t *testing.T) {
	fc := clock.NewFake(time.Unix(1000, 0))
	k := newKernel(t, Config{Clock: fc})
	ctx := context.Background()
	got := make(chan *Envelope, 4)
	owner := spawn(t, k, "owner", KernelPID, nil, echoHandler(got))
	stopping := spawn(t, k, "stopping", KernelPID, nil, stubborn())
	for _, s := range []ServiceSpec{
		{Name: "kernel", Type: "builtin", Owner: KernelPID, Endpoint: "ipc:kernel", Methods: []string{"ps"}},
		{Name: "kv", Owner: owner, Methods: []string{"get"}},
		{Name: "bare", Owner: owner},
		{Name: "leaving", Owner: stopping},
	} {
		if err := k.RegisterService(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.Stop(stopping); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		target Target
		want   error // nil: delivered
	}{
		{"service", ToService("kv"), nil},
		{"method", ToMethod("kv", "get"), nil},
		{"unknown service", ToService("nope"), ErrUnknownService},
		{"unknown service method", ToMethod("nope", "get"), ErrUnknownService},
		{"method outside the contract", ToMethod("kv", "put"), ErrUnknownMethod},
		{"method of a service without methods", ToMethod("bare", "get"), ErrUnknownMethod},
		{"built-in service", ToService("kernel"), ErrServiceNotIPC},
		{"built-in service method", ToMethod("kernel", "ps"), ErrServiceNotIPC},
		{"owner stopping", ToService("leaving"), ErrNotRunning},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, _ := k.DLQStats()
			_, err := k.Send(ctx, &Envelope{From: KernelPID, Target: c.target, Payload: Text("x")})
			if c.want == nil {
				if err != nil {
					t.Fatalf("send: %v", err)
				}
				if e := <-got; e.Target != c.target {
					t.Fatalf("delivered %v, want %v", e.Target, c.target)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("send: %v, want %v", err, c.want)
			}
			if after, _ := k.DLQStats(); after != before {
				t.Fatalf("the refused message was dead-lettered too (%d → %d)", before, after)
			}
		})
	}
	// A registration for an owner that is stopping is refused: its
	// services are about to be removed and the new one would outlive it.
	if err := k.RegisterService(ServiceSpec{Name: "late", Owner: stopping}); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("register for a stopping owner: %v", err)
	}
}

// TestRegisterServiceAs: the governed registration and removal ask the
// gate, report what they refuse themselves, and put the decision's action
// id in the event.
func TestRegisterServiceAs(t *testing.T) {
	g := &recGate{deny: map[string]bool{}}
	k := newKernel(t, Config{Gate: g})
	ctx := context.Background()
	noIPC := RootCapabilities()
	noIPC.CanIPC = false
	parent := spawn(t, k, "parent", KernelPID, nil, echoHandler(nil))
	child := spawn(t, k, "child", parent, nil, echoHandler(nil))
	other := spawn(t, k, "other", KernelPID, nil, echoHandler(nil))
	mute := spawn(t, k, "mute", KernelPID, &noIPC, echoHandler(nil))
	if err := k.RegisterService(ServiceSpec{Name: "builtin", Owner: KernelPID}); err != nil {
		t.Fatal(err)
	}
	events := make(chan Event, 32)
	unsub := k.Bus().Subscribe(func(e Event) {
		if e.Kind == EventServiceRegister || e.Kind == EventServiceRemove {
			events <- e
		}
	})
	defer unsub()

	cases := []struct {
		name    string
		actor   PID
		spec    ServiceSpec
		deny    bool
		want    error // nil: registered
		refused bool  // refused by the kernel (reported), not by the gate
	}{
		{"operator", KernelPID, ServiceSpec{Name: "a", Owner: child, Methods: []string{"get", "put"}, Idempotent: []string{"get"}}, false, nil, false},
		{"the owner itself", child, ServiceSpec{Name: "b", Owner: child}, false, nil, false},
		{"an ancestor", parent, ServiceSpec{Name: "c", Owner: child}, false, nil, false},
		{"not an ancestor", other, ServiceSpec{Name: "d", Owner: child}, false, ErrCapability, true},
		{"without can_ipc", mute, ServiceSpec{Name: "e", Owner: mute}, false, ErrCapability, true},
		{"taken", KernelPID, ServiceSpec{Name: "a", Owner: other}, false, ErrServiceExists, true},
		{"dotted name", KernelPID, ServiceSpec{Name: "a.b", Owner: other}, false, ErrInvalid, true},
		{"empty name", KernelPID, ServiceSpec{Owner: other}, false, ErrInvalid, true},
		{"bad method", KernelPID, ServiceSpec{Name: "f", Owner: other, Methods: []string{"x y"}}, false, ErrInvalid, true},
		{"idempotent outside the contract", KernelPID, ServiceSpec{Name: "f", Owner: other, Methods: []string{"x"}, Idempotent: []string{"y"}}, false, ErrInvalid, true},
		{"idempotent twice", KernelPID, ServiceSpec{Name: "f", Owner: other, Methods: []string{"x"}, Idempotent: []string{"x", "x"}}, false, ErrInvalid, true},
		{"method twice", KernelPID, ServiceSpec{Name: "f", Owner: other, Methods: []string{"x", "x"}}, false, ErrInvalid, true},
		{"owned by the kernel", KernelPID, ServiceSpec{Name: "f", Owner: KernelPID}, false, ErrInvalid, true},
		{"unknown owner", KernelPID, ServiceSpec{Name: "f", Owner: 4242}, false, ErrUnknownPID, true},
		{"denied", KernelPID, ServiceSpec{Name: "f", Owner: other}, true, ErrDenied, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g.mu.Lock()
			g.deny["service.register"] = c.deny
			asked, refused := len(g.asked), len(g.refused)
			g.mu.Unlock()
			info, err := k.RegisterServiceAs(ctx, c.actor, c.spec)
			g.mu.Lock()
			nAsked, nRefused := len(g.asked)-asked, len(g.refused)-refused
			g.mu.Unlock()
			if c.refused && (nRefused != 1 || nAsked != 0) {
				t.Errorf("gate asked %d, told of %d refusals; want a reported refusal", nAsked, nRefused)
			}
			if !c.refused && (nAsked != 1 || nRefused != 0) {
				t.Errorf("gate asked %d, told of %d refusals; want one decision", nAsked, nRefused)
			}
			if c.want != nil {
				if !errors.Is(err, c.want) {
					t.Fatalf("register: %v, want %v", err, c.want)
				}
				if c.spec.Name == "f" && slices.ContainsFunc(k.Services(), func(s ServiceInfo) bool { return s.Name == "f" }) {
					t.Fatal("a refused service was registered")
				}
				return
			}
			if err != nil {
				t.Fatalf("register: %v", err)
			}
			req, _ := g.last()
			if req.Action != "service.register" || req.PID != c.actor || req.Context["service"] != c.spec.Name || req.Context["owner_name"] != "child" {
				t.Errorf("gate request %+v", req)
			}
			ev := (<-events).Data.(ServiceEvent)
			if ev.Name != c.spec.Name || ev.Owner != c.spec.Owner || ev.Action != "service.register" || ev.ActionID != req.ActionID || ev.ActionID == "" {
				t.Errorf("event %+v for request %+v", ev, req)
			}
			if info.Owner != child || info.Type != "test" || info.Health != Healthy {
				t.Errorf("info %+v", info)
			}
			if !slices.Equal(info.Idempotent, c.spec.Idempotent) || !slices.Equal(ev.Idempotent, c.spec.Idempotent) ||
				req.Context["idempotent"] != strings.Join(c.spec.Idempotent, ",") {
				t.Errorf("idempotent methods: info %v, event %v, gate %q", info.Idempotent, ev.Idempotent, req.Context["idempotent"])
			}
			for _, m := range c.spec.Methods {
				if got := k.MethodIdempotent(c.spec.Name, m); got != slices.Contains(c.spec.Idempotent, m) {
					t.Errorf("MethodIdempotent(%s, %s) = %v", c.spec.Name, m, got)
				}
			}
		})
	}

	unregister := []struct {
		name    string
		actor   PID
		service string
		want    error
	}{
		{"not an ancestor", other, "a", ErrCapability},
		{"built in", KernelPID, "builtin", ErrInvalid},
		{"unknown", KernelPID, "nope", ErrUnknownService},
		{"the owner", child, "b", nil},
		{"an ancestor", parent, "c", nil},
		{"the operator", KernelPID, "a", nil},
	}
	for _, c := range unregister {
		t.Run("unregister "+c.name, func(t *testing.T) {
			err := k.UnregisterServiceAs(ctx, c.actor, c.service)
			if c.want != nil {
				if !errors.Is(err, c.want) {
					t.Fatalf("unregister: %v, want %v", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			req, _ := g.last()
			ev := (<-events).Data.(ServiceEvent)
			if req.Action != "service.unregister" || ev.Name != c.service || ev.Reason != "unregistered" || ev.ActionID != req.ActionID {
				t.Errorf("request %+v, event %+v", req, ev)
			}
		})
	}
	if s := k.Services(); len(s) != 1 || s[0].Name != "builtin" {
		t.Fatalf("services left: %+v", s)
	}
}

// TestServiceAnswersOutsideItsScope: a service whose owner may only talk
// to its parent still answers the requests it receives — and only those:
// it cannot reach the requester otherwise, nor answer a request that was
// delivered to another process.
func TestServiceAnswersOutsideItsScope(t *testing.T) {
	k := newKernel(t, Config{})
	ctx := context.Background()
	parent := spawn(t, k, "parent", KernelPID, nil, echoHandler(nil))
	narrow := RootCapabilities()
	narrow.IPCScope = ScopeToParent
	owner := spawn(t, k, "owner", parent, &narrow, echoHandler(nil))
	if _, err := k.RegisterServiceAs(ctx, KernelPID, ServiceSpec{Name: "echo", Owner: owner, Methods: []string{"say"}}); err != nil {
		t.Fatal(err)
	}
	client := spawn(t, k, "client", KernelPID, nil, echoHandler(nil))
	cp, _ := k.Process(client)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, target := range []Target{ToService("echo"), ToMethod("echo", "say"), ToProcess(owner)} {
		reply, err := cp.Request(rctx, target, Text("hi"))
		if err != nil {
			t.Fatalf("request to %s: %v", target, err)
		}
		if reply.From != owner || reply.Payload.Text != "hi" {
			t.Fatalf("reply %+v", reply)
		}
	}
	op, _ := k.Process(owner)
	if err := op.Send(ctx, ToProcess(client), Text("unsolicited")); !errors.Is(err, ErrScope) {
		t.Fatalf("unsolicited send outside the scope: %v", err)
	}
	// A request delivered to another process cannot be answered by owner.
	other := spawn(t, k, "other", KernelPID, nil, HandlerFunc(func(ctx context.Context, p *Process) error {
		env, err := p.Receive(ctx)
		if err != nil {
			return err
		}
		forged := &Envelope{From: owner, Target: ToProcess(client), Payload: Text("forged"), CorrelationID: env.ID}
		if _, err := k.Send(ctx, forged); !errors.Is(err, ErrScope) {
			t.Errorf("answer to a request delivered elsewhere: %v", err)
		}
		return p.Reply(ctx, env, Text("real"))
	}))
	if reply, err := cp.Request(rctx, ToProcess(other), Text("q")); err != nil || reply.Payload.Text != "real" {
		t.Fatalf("reply %+v, %v", reply, err)
	}
}
