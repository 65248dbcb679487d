package plan

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/clock"
)

// DefaultWorkers is how many tasks run at once unless told otherwise.
const DefaultWorkers = 4

// DefaultReplans bounds the replacements asked for during one run.
const DefaultReplans = 2

// Result is what a task produced.
type Result struct {
	Output string
	// Ref identifies the result for the caller (the daemon: the result's
	// universal id in the causal graph).
	Ref string
}

// Executor runs one task; deps holds the results of its dependencies by
// task id. An error fails the task (and may get it replanned).
type Executor interface {
	Execute(ctx context.Context, t Task, deps map[string]Result) (Result, error)
}

// Failure is what a Replanner is told: the task that failed, why, the
// dependants that will not run as planned, the results so far, and a
// check a proposed replacement must pass.
type Failure struct {
	Task       Task
	Err        error
	Dependants []Task
	Results    map[string]Result
	// Attempt counts replacements asked for in this run, this one
	// included (1, 2, …).
	Attempt int
	// Check validates a proposed replacement against the schedule as it
	// is (ids, dependencies, cycles) and Options.Known.
	Check func([]Task) error
}

// Replanner proposes tasks that replace a failed task and its dependants.
// An error (no usable proposal) abandons them.
type Replanner interface {
	Replan(ctx context.Context, f Failure) ([]Task, error)
}

// EventType names a progress event.
type EventType string

// Progress events, in the order they happen.
const (
	EventStart    EventType = "start"    // a task started
	EventDone     EventType = "done"     // a task succeeded
	EventFail     EventType = "fail"     // a task failed
	EventReplan   EventType = "replan"   // a failed task and its dependants were replaced
	EventAbandon  EventType = "abandon"  // a failed task's dependants were given up
	EventFinished EventType = "finished" // the run is over

	// Generate's own events.
	EventProposed EventType = "plan"     // a plan was adopted (Tasks)
	EventRejected EventType = "rejected" // a proposal failed validation (Err)
)

// Event is one step of a run's progress.
type Event struct {
	Type EventType
	Task string
	At   time.Time
	// Err is a failure's message (fail, abandon).
	Err string
	// Removed and Added are the ids a replan took out and put in;
	// Skipped the ids an abandon gave up.
	Removed, Added, Skipped []string
	// Tasks are the tasks a replan put in, or the plan adopted.
	Tasks []Task
	// Output is a done task's result.
	Output string
	// Running, Done and Total describe the schedule after the event.
	Running, Done, Total int
}

// Options configure Run.
type Options struct {
	// Workers bounds the tasks running at once (default DefaultWorkers).
	Workers int
	Exec    Executor
	// Replan, when set, is asked for a replacement of a failed task and
	// its dependants, at most MaxReplans times per run (default
	// DefaultReplans; negative: never).
	Replan     Replanner
	MaxReplans int
	// Known checks the agents and tools of replacements.
	Known Known
	// Clock stamps events (default clock.Real).
	Clock clock.Clock
	// OnEvent, when set, is told each event, from one goroutine at a time.
	OnEvent func(Event)
}

// Outcome is how a run ended.
type Outcome struct {
	// Results holds every task that succeeded, by id.
	Results map[string]Result
	// Tasks is the final plan (replacements applied), in insertion order.
	Tasks []Task
	// Failed and Skipped are the tasks that failed (and were not
	// replaced) and the dependants given up with them.
	Failed, Skipped []string
	Replans         int
	Started, Ended  time.Time
}

// OK reports that every task of the final plan succeeded.
func (o Outcome) OK() bool { return len(o.Failed) == 0 && len(o.Skipped) == 0 }

// ErrIncomplete is returned by Run when some task failed for good.
var ErrIncomplete = errors.New("plan: not every task succeeded")

type finished struct {
	id  string
	res Result
	err error
}

// Run executes the plan: ready tasks start on up to Workers goroutines,
// longest remaining path first; a task gets the results of its
// dependencies; a failed task is replaced with its dependants through
// Replan (bounded), or they are abandoned while the rest goes on. Run
// returns when nothing more can run; ErrIncomplete when some task failed
// for good, the context's error when it ended first (running tasks are
// cancelled and waited for).
func Run(ctx context.Context, p Plan, o Options) (Outcome, error) {
	if o.Exec == nil {
		return Outcome{}, errors.New("plan: Run needs an Executor")
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxReplans == 0 {
		o.MaxReplans = DefaultReplans
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	s, err := NewSchedule(p)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Results: map[string]Result{}, Started: o.Clock.Now()}
	emit := func(ev Event) {
		if o.OnEvent == nil {
			return
		}
		ev.At = o.Clock.Now()
		ev.Running, ev.Done, ev.Total = s.Count(Running), s.Count(Done), s.Len()
		o.OnEvent(ev)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan finished, o.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	// stop cancels what runs, waits for it and ends the run with ctx's
	// error.
	stop := func() (Outcome, error) {
		cancel()
		for s.Count(Running) > 0 {
			f := <-results
			if f.err == nil {
				_, _ = s.Done(f.id)
				out.Results[f.id] = f.res
			} else {
				_, _ = s.Fail(f.id)
			}
		}
		return finish(s, out, o), ctx.Err()
	}
	for {
		if ctx.Err() != nil {
			return stop()
		}
		for s.Count(Running) < o.Workers {
			t, ok := s.Next()
			if !ok {
				break
			}
			deps := make(map[string]Result, len(t.Deps))
			for _, d := range t.Deps {
				deps[d] = out.Results[d]
			}
			emit(Event{Type: EventStart, Task: t.ID})
			wg.Go(func() {
				res, err := o.Exec.Execute(runCtx, t, deps)
				results <- finished{t.ID, res, err}
			})
		}
		if s.Idle() {
			break
		}
		var f finished
		select {
		case f = <-results:
		case <-ctx.Done():
			return stop()
		}
		if f.err == nil {
			if _, err := s.Done(f.id); err != nil {
				return finish(s, out, o), err
			}
			out.Results[f.id] = f.res
			emit(Event{Type: EventDone, Task: f.id, Output: f.res.Output})
			continue
		}
		dependants, err := s.Fail(f.id)
		if err != nil {
			return finish(s, out, o), err
		}
		emit(Event{Type: EventFail, Task: f.id, Err: f.err.Error()})
		replaced := false
		if o.Replan != nil && o.MaxReplans > 0 && out.Replans < o.MaxReplans && ctx.Err() == nil {
			out.Replans++
			failed, _ := s.Task(f.id)
			fl := Failure{Task: failed, Err: f.err, Dependants: dependants, Results: cloneResults(out.Results), Attempt: out.Replans,
				Check: func(ts []Task) error { return s.CheckReplacement(f.id, ts, o.Known) }}
			tasks, rerr := o.Replan.Replan(ctx, fl)
			if rerr == nil {
				rerr = s.CheckReplacement(f.id, tasks, o.Known)
			}
			if rerr == nil {
				removed, err := s.Replace(f.id, tasks)
				if err != nil {
					return finish(s, out, o), err
				}
				added := make([]string, len(tasks))
				for i, t := range tasks {
					added[i] = t.ID
				}
				emit(Event{Type: EventReplan, Task: f.id, Removed: removed, Added: added, Tasks: tasks})
				replaced = true
			} else {
				f.err = fmt.Errorf("%w (replanning failed: %v)", f.err, rerr)
			}
		}
		if !replaced {
			skipped, err := s.Abandon(f.id)
			if err != nil {
				return finish(s, out, o), err
			}
			emit(Event{Type: EventAbandon, Task: f.id, Err: f.err.Error(), Skipped: skipped})
		}
	}
	out = finish(s, out, o)
	emit(Event{Type: EventFinished})
	if !out.OK() {
		return out, ErrIncomplete
	}
	return out, nil
}

func finish(s *Schedule, out Outcome, o Options) Outcome {
	out.Tasks = s.Tasks()
	out.Failed, out.Skipped = nil, nil
	for _, t := range out.Tasks {
		switch st, _ := s.State(t.ID); st {
		case Failed:
			out.Failed = append(out.Failed, t.ID)
		case Skipped:
			out.Skipped = append(out.Skipped, t.ID)
		}
	}
	out.Ended = o.Clock.Now()
	return out
}

func cloneResults(m map[string]Result) map[string]Result {
	c := make(map[string]Result, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
