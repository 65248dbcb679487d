package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/clock"
)

// crashable is a child whose instances can be made to fail from the test.
type crashable struct {
	mu     sync.Mutex
	starts map[string]int
	fail   map[PID]chan error
}

func newCrashable() *crashable {
	return &crashable{starts: map[string]int{}, fail: map[PID]chan error{}}
}

func (c *crashable) child(id string, r RestartType) ChildSpec {
	return ChildSpec{ID: id, Restart: r, InheritCaps: true, Handler: HandlerFunc(func(ctx context.Context, p *Process) error {
		ch := make(chan error, 1)
		c.mu.Lock()
		c.starts[id]++
		c.fail[p.pid] = ch
		c.mu.Unlock()
		select {
		case err := <-ch:
			return err
		case <-ctx.Done():
			return nil
		}
	})}
}

func (c *crashable) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.starts[id]
}

func (c *crashable) crash(t *testing.T, k *Kernel, sup PID, id string, err error) {
	t.Helper()
	in, _ := k.Inspect(sup)
	for _, ch := range in.Detail.(map[string]any)["children"].([]SupervisorChild) {
		if ch.ID == id {
			c.mu.Lock()
			f := c.fail[ch.PID]
			c.mu.Unlock()
			if f == nil {
				t.Fatalf("child %s (pid %d) not started", id, ch.PID)
			}
			f <- err
			if _, werr := k.Wait(context.Background(), ch.PID); werr != nil {
				t.Fatal(werr)
			}
			return
		}
	}
	t.Fatalf("no child %s", id)
}

func childPIDs(k *Kernel, sup PID) map[string]PID {
	in, _ := k.Inspect(sup)
	out := map[string]PID{}
	for _, ch := range in.Detail.(map[string]any)["children"].([]SupervisorChild) {
		out[ch.ID] = ch.PID
	}
	return out
}

func TestSupervisorStrategies(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		strategy  Strategy
		crash     string
		restarted []string // children that must have started twice
		kept      []string // children that must still have their first instance
	}{
		{OneForOne, "b", []string{"b"}, []string{"a", "c"}},
		{OneForAll, "b", []string{"a", "b", "c"}, nil},
		{RestForOne, "b", []string{"b", "c"}, []string{"a"}},
	}
	for _, tc := range cases {
		t.Run(tc.strategy.String(), func(t *testing.T) {
			fc := clock.NewFake(time.Unix(1000, 0))
			k := newKernel(t, Config{Clock: fc})
			c := newCrashable()
			sup, err := k.StartSupervisor(context.Background(), SupervisorSpec{Name: "sup", Strategy: tc.strategy,
				Children: []ChildSpec{c.child("a", Permanent), c.child("b", Permanent), c.child("c", Permanent)}})
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, "children started", func() bool { return c.count("a")+c.count("b")+c.count("c") == 3 })
			before := childPIDs(k, sup)
			c.crash(t, k, sup, tc.crash, boom)
			// The restart waits for the backoff (100 ms on the fake clock).
			eventually(t, "supervisor scheduled the restart", func() bool { return fc.Pending() > 0 })
			fc.Advance(100 * time.Millisecond)
			for _, id := range tc.restarted {
				eventually(t, id+" restarted", func() bool { return c.count(id) == 2 })
			}
			after := childPIDs(k, sup)
			for _, id := range tc.kept {
				if c.count(id) != 1 || after[id] != before[id] {
					t.Errorf("%s was restarted (starts %d, pid %d → %d)", id, c.count(id), before[id], after[id])
				}
			}
		})
	}
}

func TestSupervisorRestartTypesAndBudget(t *testing.T) {
	fc := clock.NewFake(time.Unix(1000, 0))
	k := newKernel(t, Config{Clock: fc})
	c := newCrashable()
	events := make(chan Event, 256)
	unsub := k.Bus().Subscribe(func(e Event) {
		if e.Kind == EventSupervisorRestart || e.Kind == EventSupervisorGiveUp {
			events <- e
		}
	})
	defer unsub()
	sup, err := k.StartSupervisor(context.Background(), SupervisorSpec{Name: "sup", MaxRestarts: 2, Window: time.Minute,
		Children: []ChildSpec{c.child("perm", Permanent), c.child("trans", Transient), c.child("temp", Temporary)}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "children started", func() bool { return c.count("perm")+c.count("trans")+c.count("temp") == 3 })
	// Transient after a normal exit and temporary after any exit: not restarted.
	c.crash(t, k, sup, "trans", nil)
	c.crash(t, k, sup, "temp", errors.New("x"))
	// Permanent: restarted with doubling backoff until the budget runs out.
	c.crash(t, k, sup, "perm", nil)
	ev := <-events
	if d := ev.Data.(map[string]any)["delay"]; d != "100ms" {
		t.Fatalf("first delay %v", d)
	}
	fc.Advance(100 * time.Millisecond)
	eventually(t, "perm restarted", func() bool { return c.count("perm") == 2 })
	c.crash(t, k, sup, "perm", errors.New("again"))
	ev = <-events
	if d := ev.Data.(map[string]any)["delay"]; d != "200ms" {
		t.Fatalf("second delay %v", d)
	}
	fc.Advance(200 * time.Millisecond)
	eventually(t, "perm restarted twice", func() bool { return c.count("perm") == 3 })
	c.crash(t, k, sup, "perm", errors.New("third"))
	if ev := <-events; ev.Kind != EventSupervisorGiveUp {
		t.Fatalf("third crash: %s, want give up", ev.Kind)
	}
	code, err := k.Wait(context.Background(), sup)
	if err != nil || code != 1 {
		t.Fatalf("supervisor exit %d, %v", code, err)
	}
	if c.count("trans") != 1 || c.count("temp") != 1 {
		t.Fatalf("trans %d temp %d starts", c.count("trans"), c.count("temp"))
	}
}

func TestSupervisorSpecErrors(t *testing.T) {
	k := newKernel(t, Config{})
	_, err := k.StartSupervisor(context.Background(), SupervisorSpec{Children: []ChildSpec{{ID: "a"}, {ID: "a"}}})
	if !errors.Is(err, ErrChildSpecDuplicate) {
		t.Fatalf("duplicate ids: %v", err)
	}
	for _, s := range []string{"one_for_one", "one-for-all", "rest_for_one"} {
		if _, err := ParseStrategy(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := ParseStrategy("all_for_one"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad strategy: %v", err)
	}
}

type everySchedule time.Duration

func (e everySchedule) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }
func (e everySchedule) String() string             { return "@every " + time.Duration(e).String() }

func TestCron(t *testing.T) {
	fc := clock.NewFake(time.Unix(1000, 0))
	k := newKernel(t, Config{Clock: fc})
	got := make(chan *Envelope, 8)
	pid := spawn(t, k, "target", KernelPID, nil, echoHandler(got))
	job, err := k.AddCron(context.Background(), CronSpec{Name: "tick", Schedule: everySchedule(time.Minute), Target: ToProcess(pid), Payload: Text("tick")})
	if err != nil {
		t.Fatal(err)
	}
	if !job.Next.Equal(time.Unix(1060, 0)) {
		t.Fatalf("next = %v", job.Next)
	}
	fc.Advance(time.Minute)
	if e := <-got; e.Payload.Text != "tick" || e.TraceID != "cron:"+job.ID {
		t.Fatalf("cron delivered %+v", e)
	}
	fc.Advance(time.Minute)
	<-got
	jobs := k.CronJobs()
	if len(jobs) != 1 || jobs[0].Runs != 2 || !jobs[0].Next.Equal(time.Unix(1180, 0)) {
		t.Fatalf("jobs = %+v", jobs)
	}
	if err := k.RemoveCron(context.Background(), KernelPID, job.ID); err != nil {
		t.Fatal(err)
	}
	if err := k.RemoveCron(context.Background(), KernelPID, job.ID); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("second remove: %v", err)
	}
	fc.Advance(time.Hour)
	select {
	case e := <-got:
		t.Fatalf("removed job fired: %+v", e)
	default:
	}
	// A job whose target is gone records the failure and keeps its schedule.
	j2, err := k.AddCron(context.Background(), CronSpec{Schedule: everySchedule(time.Second), Target: ToProcess(987654), Payload: Text("x")})
	if err != nil {
		t.Fatal(err)
	}
	fc.Advance(time.Second)
	jobs = k.CronJobs()
	if len(jobs) != 1 || jobs[0].ID != j2.ID || jobs[0].Failures != 1 || jobs[0].LastError == "" {
		t.Fatalf("jobs = %+v", jobs)
	}
	if _, err := k.AddCron(context.Background(), CronSpec{Schedule: everySchedule(time.Second), Target: ToProcess(1), Payload: Payload{Kind: PayloadJSON, JSON: json.RawMessage("nope")}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad payload: %v", err)
	}
}

// TestCronEndsWithItsProcess: a job targeting a process (or sent by one)
// is removed when that process exits, instead of dead-lettering forever;
// a job whose last run failed degrades the node's health.
func TestCronEndsWithItsProcess(t *testing.T) {
	fc := clock.NewFake(time.Unix(1000, 0))
	k := newKernel(t, Config{Clock: fc})
	got := make(chan *Envelope, 8)
	pid := spawn(t, k, "target", KernelPID, nil, echoHandler(got))
	ctx := context.Background()
	if _, err := k.AddCron(ctx, CronSpec{Name: "tick", Schedule: everySchedule(time.Minute), Target: ToProcess(pid), Payload: Text("tick")}); err != nil {
		t.Fatal(err)
	}
	lost, err := k.AddCron(ctx, CronSpec{Name: "lost", Schedule: everySchedule(time.Second), Target: ToTopic("nobody-listens"), Payload: Text("x")})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Stop(pid); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Wait(ctx, pid); err != nil {
		t.Fatal(err)
	}
	jobs := k.CronJobs()
	if len(jobs) != 1 || jobs[0].ID != lost.ID {
		t.Fatalf("jobs after the target exited: %+v", jobs)
	}
	if h := k.Health(); h.Status != Healthy {
		t.Fatalf("health before any failure: %+v", h)
	}
	// A send to a process that does not exist fails; the job then shows.
	bad, err := k.AddCron(ctx, CronSpec{Name: "bad", Schedule: everySchedule(time.Second), Target: ToProcess(987654), Payload: Text("x")})
	if err != nil {
		t.Fatal(err)
	}
	fc.Advance(time.Second)
	waitUntil(t, func() bool { return len(k.Health().Degraded) > 0 })
	if h := k.Health(); h.Status != Degraded || !slices.Contains(h.Degraded, "cron:"+bad.ID) {
		t.Fatalf("health with a failing job: %+v", h)
	}
}

// A supervised child is named by its supervisor before it runs: whoever
// sees the new instance running (ps --tree) also sees who supervises it.
func TestSupervisorNamesChildBeforeItRuns(t *testing.T) {
	fc := clock.NewFake(time.Unix(1000, 0))
	k := newKernel(t, Config{Clock: fc})
	var (
		mu      sync.Mutex
		sup     PID
		seen    []bool // per instance: was it named when it started?
		crashes = make(chan struct{}, 8)
	)
	supReady := make(chan struct{})
	spec := ChildSpec{ID: "w", Restart: Permanent, InheritCaps: true, Handler: HandlerFunc(func(ctx context.Context, p *Process) error {
		<-supReady
		mu.Lock()
		seen = append(seen, childPIDs(k, sup)["w"] == p.pid)
		mu.Unlock()
		select {
		case <-crashes:
			return errors.New("boom")
		case <-ctx.Done():
			return nil
		}
	})}
	s, err := k.StartSupervisor(context.Background(), SupervisorSpec{Name: "sup", Strategy: OneForOne, Children: []ChildSpec{spec}})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	sup = s
	mu.Unlock()
	close(supReady)
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }
	for i := 1; i <= 3; i++ {
		eventually(t, "instance started", func() bool { return count() == i })
		crashes <- struct{}{}
		eventually(t, "restart scheduled", func() bool { return fc.Pending() > 0 })
		fc.Advance(time.Second)
	}
	eventually(t, "last instance started", func() bool { return count() == 4 })
	mu.Lock()
	defer mu.Unlock()
	for i, ok := range seen {
		if !ok {
			t.Errorf("instance %d ran before its supervisor named it", i+1)
		}
	}
}
