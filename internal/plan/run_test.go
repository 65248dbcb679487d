package plan

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftos/weftos/internal/clock"
)

// execFunc adapts a function to Executor.
type execFunc func(ctx context.Context, t Task, deps map[string]Result) (Result, error)

func (f execFunc) Execute(ctx context.Context, t Task, deps map[string]Result) (Result, error) {
	return f(ctx, t, deps)
}

type replanFunc func(ctx context.Context, f Failure) ([]Task, error)

func (f replanFunc) Replan(ctx context.Context, fl Failure) ([]Task, error) { return f(ctx, fl) }

// TestRunBoundsWorkersAndPassesResults: never more than Workers tasks at
// once, and each task gets its dependencies' results.
func TestRunBoundsWorkersAndPassesResults(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := tasks("a", "b", "c", "d", "e", "f", "sink:a,b,c,d,e,f")
	const workers = 2
	var cur, peak atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, len(p.Tasks))
	var sinkDeps map[string]Result
	exec := execFunc(func(ctx context.Context, tk Task, deps map[string]Result) (Result, error) {
		n := cur.Add(1)
		for {
			m := peak.Load()
			if n <= m || peak.CompareAndSwap(m, n) {
				break
			}
		}
		defer cur.Add(-1)
		started <- struct{}{}
		<-release
		if tk.ID == "sink" {
			sinkDeps = maps.Clone(deps)
		}
		return Result{Output: "out-" + tk.ID, Ref: "ref-" + tk.ID}, nil
	})
	var events []Event
	clk := clock.NewFake(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	done := make(chan struct{})
	var out Outcome
	var err error
	go func() {
		defer close(done)
		out, err = Run(context.Background(), p, Options{Workers: workers, Exec: exec, Clock: clk, OnEvent: func(ev Event) { events = append(events, ev) }})
	}()
	// Two tasks start and hold their workers; nothing else may start
	// until one is released.
	<-started
	<-started
	for range p.Tasks {
		release <- struct{}{}
	}
	<-done
	if err != nil || !out.OK() || len(out.Results) != 7 {
		t.Fatalf("outcome %+v err %v", out, err)
	}
	if peak.Load() != workers {
		t.Fatalf("peak concurrency %d, want %d", peak.Load(), workers)
	}
	if len(sinkDeps) != 6 || sinkDeps["c"].Output != "out-c" || sinkDeps["f"].Ref != "ref-f" {
		t.Fatalf("sink got %v", sinkDeps)
	}
	starts, dones := 0, 0
	for _, ev := range events {
		switch ev.Type {
		case EventStart:
			starts++
		case EventDone:
			dones++
		}
		if ev.Running > workers || !ev.At.Equal(clk.Now()) {
			t.Fatalf("event %+v", ev)
		}
	}
	if starts != 7 || dones != 7 || events[len(events)-1].Type != EventFinished {
		t.Fatalf("events %+v", events)
	}
}

// failing runs a, b2, c…; b fails with "boom" the first time it runs.
func chainExec(fails map[string]int) (Executor, *sync.Map) {
	var got sync.Map // task id → the deps it was given
	var mu sync.Mutex
	return execFunc(func(ctx context.Context, tk Task, deps map[string]Result) (Result, error) {
		got.Store(tk.ID, slices.Sorted(maps.Keys(deps)))
		mu.Lock()
		defer mu.Unlock()
		if fails[tk.ID] > 0 {
			fails[tk.ID]--
			return Result{}, fmt.Errorf("boom in %s", tk.ID)
		}
		return Result{Output: tk.ID}, nil
	}), &got
}

func TestRunReplansAFailedSubtree(t *testing.T) {
	defer goleak.VerifyNone(t)
	exec, got := chainExec(map[string]int{"b": 1})
	var seen Failure
	replan := replanFunc(func(ctx context.Context, f Failure) ([]Task, error) {
		seen = f
		// A first proposal with a cycle is refused by Check; the second
		// replaces b with b2 and keeps c, now after b2.
		if err := f.Check(tasks("x:y", "y:x").Tasks); !errors.Is(err, ErrCycle) {
			return nil, fmt.Errorf("check let a cycle through: %v", err)
		}
		return tasks("b2:a", "c:b2").Tasks, nil
	})
	var types []string
	out, err := Run(context.Background(), tasks("a", "b:a", "c:b", "d"), Options{Workers: 1, Exec: exec, Replan: replan,
		OnEvent: func(ev Event) { types = append(types, string(ev.Type)+":"+ev.Task) }})
	if err != nil || !out.OK() || out.Replans != 1 {
		t.Fatalf("outcome %+v err %v", out, err)
	}
	if seen.Task.ID != "b" || seen.Err == nil || seen.Err.Error() != "boom in b" || len(seen.Dependants) != 1 || seen.Dependants[0].ID != "c" ||
		seen.Attempt != 1 || seen.Results["a"].Output != "a" {
		t.Fatalf("failure %+v", seen)
	}
	if deps, _ := got.Load("c"); !slices.Equal(deps.([]string), []string{"b2"}) {
		t.Fatalf("c got deps %v", deps)
	}
	// a (rank 3) first; then b (2) before d (1); after the replan b2
	// (2), then d and c (both 1: d was planned first).
	want := "start:a done:a start:b fail:b replan:b start:b2 done:b2 start:d done:d start:c done:c finished:"
	if strings.Join(types, " ") != want {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(types, " "), want)
	}
	ids := []string{}
	for _, tk := range out.Tasks {
		ids = append(ids, tk.ID)
	}
	if !slices.Equal(ids, []string{"a", "d", "b2", "c"}) {
		t.Fatalf("final plan %v", ids)
	}
}

func TestRunGivesUpAfterMaxReplans(t *testing.T) {
	defer goleak.VerifyNone(t)
	exec, _ := chainExec(map[string]int{"b": 1, "b2": 1})
	calls := 0
	replan := replanFunc(func(ctx context.Context, f Failure) ([]Task, error) {
		calls++
		return tasks("b2:a", "c:b2").Tasks, nil
	})
	var abandon Event
	out, err := Run(context.Background(), tasks("a", "b:a", "c:b", "d"), Options{Workers: 3, Exec: exec, Replan: replan, MaxReplans: 1,
		OnEvent: func(ev Event) {
			if ev.Type == EventAbandon {
				abandon = ev
			}
		}})
	if !errors.Is(err, ErrIncomplete) || calls != 1 || !slices.Equal(out.Failed, []string{"b2"}) || !slices.Equal(out.Skipped, []string{"c"}) {
		t.Fatalf("err %v calls %d outcome %+v", err, calls, out)
	}
	if abandon.Task != "b2" || !slices.Equal(abandon.Skipped, []string{"c"}) || abandon.Err != "boom in b2" {
		t.Fatalf("abandon %+v", abandon)
	}
	if _, ok := out.Results["d"]; !ok {
		t.Fatal("an independent task did not run")
	}

	// A replanner whose proposal is refused: the subtree is abandoned,
	// and the reason says why.
	exec, _ = chainExec(map[string]int{"b": 1})
	bad := replanFunc(func(ctx context.Context, f Failure) ([]Task, error) { return tasks("z:ghost").Tasks, nil })
	_, err = Run(context.Background(), tasks("a", "b:a", "c:b"), Options{Exec: exec, Replan: bad,
		OnEvent: func(ev Event) {
			if ev.Type == EventAbandon {
				abandon = ev
			}
		}})
	if !errors.Is(err, ErrIncomplete) || !strings.Contains(abandon.Err, `boom in b (replanning failed: plan: invalid plan: task "z" depends on "ghost"`) {
		t.Fatalf("err %v abandon %+v", err, abandon)
	}
}

func TestRunCancelled(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, 4)
	exec := execFunc(func(ctx context.Context, tk Task, deps map[string]Result) (Result, error) {
		started <- struct{}{}
		<-ctx.Done()
		return Result{}, ctx.Err()
	})
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, tasks("a", "b", "c:a,b"), Options{Exec: exec})
		done <- err
	}()
	<-started
	<-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

// TestRunNeverViolatesADependency: the real Run (goroutines, 8 workers) on
// random DAGs with a fifth of the attempts failing and every failure
// replaced by a retry: each task starts only after every dependency
// succeeded, and every task of the final plan succeeds.
func TestRunNeverViolatesADependency(t *testing.T) {
	defer goleak.VerifyNone(t)
	rng := rand.New(rand.NewPCG(14, 7))
	for i := range 40 {
		p, _ := genDAG(rng, 1+rng.IntN(60), shapes[i%len(shapes)])
		var mu sync.Mutex
		ok := map[string]bool{}
		var violations []string
		attempts := 0
		exec := execFunc(func(ctx context.Context, tk Task, deps map[string]Result) (Result, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, d := range tk.Deps {
				if !ok[d] || deps[d].Output != d {
					violations = append(violations, fmt.Sprintf("%s started before %s succeeded", tk.ID, d))
				}
			}
			attempts++
			if attempts%5 == 0 {
				return Result{}, errors.New("injected")
			}
			ok[tk.ID] = true
			return Result{Output: tk.ID}, nil
		})
		retry := replanFunc(func(ctx context.Context, f Failure) ([]Task, error) {
			r := f.Task
			r.ID = fmt.Sprintf("%s-r%d", strings.Split(f.Task.ID, "-")[0], f.Attempt)
			out := []Task{r}
			for _, d := range f.Dependants {
				d.Deps = slices.Clone(d.Deps)
				for k, dep := range d.Deps {
					if dep == f.Task.ID {
						d.Deps[k] = r.ID
					}
				}
				out = append(out, d)
			}
			return out, nil
		})
		out, err := Run(context.Background(), p, Options{Workers: 8, Exec: exec, Replan: retry, MaxReplans: 1000})
		if err != nil || !out.OK() || len(violations) > 0 || len(out.Results) != len(p.Tasks) {
			t.Fatalf("dag %d: err %v, %d of %d results, violations %v", i, err, len(out.Results), len(p.Tasks), violations)
		}
	}
}
