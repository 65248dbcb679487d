package kernel

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// answerer is a handler that answers each request with handle's payload
// (or not at all when handle returns false) and reports Reply's error.
func answerer(replied chan<- error, handle func(p *Process, env *Envelope) (Payload, bool)) Handler {
	return HandlerFunc(func(ctx context.Context, p *Process) error {
		for {
			env, err := p.Receive(ctx)
			if err != nil {
				return err
			}
			if env.Payload.Kind == PayloadSignal {
				if env.Payload.Signal == SignalShutdown {
					return nil
				}
				continue
			}
			payload, ok := handle(p, env)
			if !ok {
				return nil // exit without answering
			}
			replied <- p.Reply(ctx, env, payload)
		}
	})
}

// waitCtx bounds a test's wait for a reply; the waits below must end on
// their own, long before it.
func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestReplyWithoutCanIPC: a process without can_ipc answers the requests
// delivered to it — an agent defined without can_ipc answers its runs
// (before, its reply was refused and the run's client waited forever) —
// while it still cannot send anything else, even to its requester.
func TestReplyWithoutCanIPC(t *testing.T) {
	k := newKernel(t, Config{})
	ctx := waitCtx(t)
	sendErr := make(chan error, 1)
	replied := make(chan error, 1)
	mute := RootCapabilities()
	mute.CanIPC = false
	pid := spawn(t, k, "mute", KernelPID, &mute, answerer(replied, func(p *Process, env *Envelope) (Payload, bool) {
		sendErr <- p.Send(ctx, ToProcess(env.From), Text("unasked"))
		return Text("answer to " + env.Payload.Text), true
	}))
	rep, err := k.Await(ctx, &Envelope{From: KernelPID, Target: ToProcess(pid), Payload: Text("q")})
	if err != nil || rep.Payload.Text != "answer to q" {
		t.Fatalf("reply %v, %v", rep, err)
	}
	if err := <-replied; err != nil {
		t.Fatalf("Reply: %v", err)
	}
	if err := <-sendErr; !errors.Is(err, ErrScope) {
		t.Fatalf("a send without can_ipc: %v; want ErrScope", err)
	}
}

// TestUndeliverableReplyEndsTheWait: when a process's answer cannot be
// delivered (here: it has sent its message budget), its requester gets
// the reason at once instead of waiting for an answer that never comes.
func TestUndeliverableReplyEndsTheWait(t *testing.T) {
	k := newKernel(t, Config{})
	ctx := waitCtx(t)
	replied := make(chan error, 2)
	c := RootCapabilities()
	c.Limits.Messages = 1
	pid := spawn(t, k, "budget", KernelPID, &c, answerer(replied, func(_ *Process, env *Envelope) (Payload, bool) {
		return env.Payload, true
	}))
	if _, err := k.Await(ctx, &Envelope{From: KernelPID, Target: ToProcess(pid), Payload: Text("one")}); err != nil {
		t.Fatalf("first request: %v", err)
	}
	_, err := k.Await(ctx, &Envelope{From: KernelPID, Target: ToProcess(pid), Payload: Text("two")})
	if !errors.Is(err, ErrLimit) || ctx.Err() != nil {
		t.Fatalf("second request: %v; want the reply's ErrLimit", err)
	}
	if <-replied != nil || !errors.Is(<-replied, ErrLimit) {
		t.Fatal("Reply did not report the undeliverable answer")
	}
}

// TestExitBeforeAnswering: a process that exits with a request delivered
// and unanswered ends its requester's wait with ErrNotRunning.
func TestExitBeforeAnswering(t *testing.T) {
	k := newKernel(t, Config{})
	ctx := waitCtx(t)
	pid := spawn(t, k, "quitter", KernelPID, nil, answerer(nil, func(*Process, *Envelope) (Payload, bool) {
		return Payload{}, false
	}))
	_, err := k.Await(ctx, &Envelope{From: KernelPID, Target: ToProcess(pid), Payload: Text("q")})
	if !errors.Is(err, ErrNotRunning) || ctx.Err() != nil || !strings.HasSuffix(err.Error(), "process "+pid.String()+" exited before answering") {
		t.Fatalf("request to a process that exits without answering: %v; want ErrNotRunning", err)
	}
}
