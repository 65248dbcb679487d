package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/clock"
)

// serving is a child that registers its service as itself when it starts,
// as an agent declaring services does.
func (c *crashable) serving(t *testing.T, id, service string) ChildSpec {
	spec := c.child(id, Permanent)
	inner := spec.Handler
	spec.Handler = HandlerFunc(func(ctx context.Context, p *Process) error {
		if _, err := p.Kernel().RegisterServiceAs(ctx, p.PID(), ServiceSpec{Name: service, Owner: p.PID(), Methods: []string{"get"}}); err != nil {
			t.Errorf("child %s registering %s: %v", id, service, err)
			return err
		}
		return inner.Run(ctx, p)
	})
	return spec
}

func serviceOwner(k *Kernel, name string) PID {
	for _, s := range k.Services() {
		if s.Name == name {
			return s.Owner
		}
	}
	return 0
}

// TestStartChild: children added to a running supervisor are supervised
// like its first ones (and restarted with them under one_for_all); every
// start is a supervisor.start_child event naming the PID it replaces; a
// child's services go when it exits and come back with its new PID.
func TestStartChild(t *testing.T) {
	fc := clock.NewFake(time.Unix(1000, 0))
	k := newKernel(t, Config{Clock: fc})
	ctx := context.Background()
	c := newCrashable()
	starts := make(chan SupervisorChildEvent, 16)
	removed := make(chan ServiceEvent, 16)
	unsub := k.Bus().Subscribe(func(e Event) {
		switch e.Kind {
		case EventSupervisorChild:
			starts <- e.Data.(SupervisorChildEvent)
		case EventServiceRemove:
			removed <- e.Data.(ServiceEvent)
		}
	})
	defer unsub()
	sup, err := k.StartSupervisor(ctx, SupervisorSpec{Name: "sup", Strategy: OneForAll, Children: []ChildSpec{c.child("a", Permanent)}})
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-starts; ev.Child != "a" || ev.Previous != 0 {
		t.Fatalf("first start %+v", ev)
	}
	pid, err := k.StartChild(ctx, sup, c.serving(t, "b", "kv"))
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-starts; ev.Child != "b" || ev.PID != pid || ev.Supervisor != sup || ev.Restart != "permanent" {
		t.Fatalf("start_child %+v", ev)
	}
	if in := mustInfo(t, k, pid); in.Parent != sup {
		t.Fatalf("child's parent %d, want the supervisor %d", in.Parent, sup)
	}
	eventually(t, "b serves kv", func() bool { return serviceOwner(k, "kv") == pid })

	// a crashes: one_for_all restarts b too; b's service goes with the
	// old PID and is registered again by the new one.
	c.crash(t, k, sup, "a", errors.New("boom"))
	if ev := <-removed; ev.Name != "kv" || ev.Owner != pid || ev.Reason != "owner exited" {
		t.Fatalf("service removal %+v", ev)
	}
	eventually(t, "the restart scheduled", func() bool { return fc.Pending() > 0 })
	fc.Advance(100 * time.Millisecond)
	got := map[string]SupervisorChildEvent{}
	for len(got) < 2 {
		ev := <-starts
		got[ev.Child] = ev
	}
	if got["b"].Previous != pid || got["b"].Restarts != 1 || got["b"].PID == pid {
		t.Fatalf("b restarted as %+v (was %d)", got["b"], pid)
	}
	eventually(t, "kv re-registered", func() bool { return serviceOwner(k, "kv") == got["b"].PID })

	cases := []struct {
		name string
		sup  PID
		spec ChildSpec
		want error
	}{
		{"duplicate id", sup, c.child("b", Permanent), ErrChildSpecDuplicate},
		{"no id", sup, ChildSpec{Handler: stubborn()}, ErrInvalid},
		{"not a supervisor", got["b"].PID, c.child("x", Permanent), ErrUnknownSupervisor},
		{"no such process", 4242, c.child("x", Permanent), ErrUnknownSupervisor},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := k.StartChild(ctx, tc.sup, tc.spec); !errors.Is(err, tc.want) {
				t.Fatalf("StartChild: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestRemoveChild: a removed child is not restarted, and its id can be
// used again; a temporary child that exited can be replaced.
func TestRemoveChild(t *testing.T) {
	fc := clock.NewFake(time.Unix(1000, 0))
	k := newKernel(t, Config{Clock: fc})
	ctx := context.Background()
	c := newCrashable()
	sup, err := k.StartSupervisor(ctx, SupervisorSpec{Name: "sup"})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := k.StartChild(ctx, sup, c.child("a", Permanent))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "a started", func() bool { return c.count("a") == 1 })
	running, err := k.RemoveChild(sup, "a")
	if err != nil || running != pid {
		t.Fatalf("RemoveChild = %d, %v; want %d", running, err, pid)
	}
	if err := k.Kill(pid); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Wait(ctx, pid); err != nil {
		t.Fatal(err)
	}
	if _, err := k.RemoveChild(sup, "a"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("second remove: %v", err)
	}
	// Nothing was scheduled: the child is gone for good.
	fc.Advance(time.Minute)
	if c.count("a") != 1 || fc.Pending() != 0 {
		t.Fatalf("a removed child was restarted (%d starts)", c.count("a"))
	}
	// Its id, and that of a temporary child that exited, can be reused.
	if _, err := k.StartChild(ctx, sup, c.child("a", Permanent)); err != nil {
		t.Fatalf("reusing a removed child's id: %v", err)
	}
	temp, err := k.StartChild(ctx, sup, c.child("t", Temporary))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "t started", func() bool { return c.count("t") == 1 })
	c.crash(t, k, sup, "t", nil)
	eventually(t, "t gone", func() bool {
		for _, ch := range mustInfo(t, k, sup).Detail.(map[string]any)["children"].([]SupervisorChild) {
			if ch.ID == "t" {
				return !ch.Running
			}
		}
		return false
	})
	if pid2, err := k.StartChild(ctx, sup, c.child("t", Temporary)); err != nil || pid2 == temp {
		t.Fatalf("replacing an exited temporary child: %d, %v", pid2, err)
	}
}

// TestFailedRestartIsRetried: a restart that cannot start its child (the
// kind refuses, governance denies) is a failure like an exit: retried with
// backoff within the budget — not the end of the child's supervision.
func TestFailedRestartIsRetried(t *testing.T) {
	fc := clock.NewFake(time.Unix(1000, 0))
	k := newKernel(t, Config{Clock: fc})
	ctx := context.Background()
	c := newCrashable()
	var builds int
	k.RegisterKind("flaky", func(json.RawMessage) (Handler, error) {
		builds++ // only the supervisor's goroutine spawns this kind
		if builds == 2 {
			return nil, errors.New("not now")
		}
		return c.child("f", Permanent).Handler, nil
	})
	restarts := make(chan map[string]any, 8)
	unsub := k.Bus().Subscribe(func(e Event) {
		if e.Kind == EventSupervisorRestart {
			restarts <- e.Data.(map[string]any)
		}
	})
	defer unsub()
	sup, err := k.StartSupervisor(ctx, SupervisorSpec{Name: "sup", Children: []ChildSpec{{ID: "f", Kind: "flaky", InheritCaps: true}}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "f started", func() bool { return c.count("f") == 1 })
	c.crash(t, k, sup, "f", errors.New("boom"))
	if r := <-restarts; r["delay"] != "100ms" {
		t.Fatalf("first restart %v", r)
	}
	fc.Advance(100 * time.Millisecond)
	// The restart fails to build the child: scheduled again, backing off.
	if r := <-restarts; r["delay"] != "200ms" || r["reason"] != "restart failed: spawn \"f\": not now" {
		t.Fatalf("after the failed restart %v", r)
	}
	fc.Advance(200 * time.Millisecond)
	eventually(t, "f restarted", func() bool { return c.count("f") == 2 })
}
