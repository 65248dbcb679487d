package plan

import (
	"context"
	"errors"
	"fmt"

	"github.com/weftos/weftos/internal/clock"
)

// Host is what Generate needs from the node: the planner's conversation,
// the records, the tasks' execution and the final answer. The daemon's
// Host makes every one of them a governed act.
type Host interface {
	// Ask runs one turn of the planner's conversation.
	Ask(ctx context.Context, prompt string) (string, error)
	// Refuse records a proposal that failed validation (revision 0: the
	// plan; n > 0: the nth replacement).
	Refuse(ctx context.Context, revision int, err error) error
	// Adopt records a validated plan or replacement before it runs; an
	// error (the record could not be written, governance said no) stops
	// it from running.
	Adopt(ctx context.Context, a Adoption) error
	// Executor runs each task.
	Executor
	// Compose runs the final answer's turn (the prompt is AnswerPrompt's)
	// and records it, derived from results.
	Compose(ctx context.Context, prompt string, results map[string]Result) (Result, error)
}

// Adoption is a plan (Revision 0) or a replacement (Revision n: of the
// task Failed, which failed with Err, taking out Replaced) about to run.
type Adoption struct {
	Revision int
	Tasks    []Task
	Failed   string
	Err      error
	Replaced []string
}

// Config configures Generate.
type Config struct {
	Goal string
	// Catalog lists the agents and their tools, for the planner.
	Catalog    string
	Known      Known
	Workers    int
	MaxReplans int
	Clock      clock.Clock
	// SessionOf names the session holding a task's whole result (quoted
	// when a prompt cuts one).
	SessionOf func(task string) string
	OnEvent   func(Event)
}

// Generated is what Generate made.
type Generated struct {
	Plan    Plan
	Outcome Outcome
	Answer  Result
}

// ErrRefused is returned when the planner's proposal was refused twice.
var ErrRefused = errors.New("plan: the planner's proposal was refused twice")

// Generate is ECC's Generate mode: the planner proposes a plan for the
// goal (a proposal that fails validation is refused, recorded, and the
// planner asked once more with the reason); the plan is adopted and run
// (Run), failed subtrees replaced through the planner under the same
// rule; when every task succeeded the final answer is composed from the
// results.
func Generate(ctx context.Context, h Host, cfg Config) (Generated, error) {
	var g Generated
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.SessionOf == nil {
		cfg.SessionOf = func(id string) string { return id }
	}
	emit := func(ev Event) {
		if cfg.OnEvent != nil {
			ev.At = cfg.Clock.Now()
			cfg.OnEvent(ev)
		}
	}
	p, err := propose(ctx, h, cfg, 0, PlanPrompt(cfg.Goal, cfg.Catalog), func(text string) ([]Task, error) {
		p, err := Parse(text)
		if err != nil {
			return nil, err
		}
		return p.Tasks, p.Validate(cfg.Known)
	}, emit)
	if err != nil {
		return g, err
	}
	g.Plan = Plan{Tasks: p}
	if err := h.Adopt(ctx, Adoption{Tasks: p}); err != nil {
		return g, err
	}
	emit(Event{Type: EventProposed, Tasks: p, Total: len(p)})
	rp := &replanner{h: h, cfg: cfg, emit: emit}
	g.Outcome, err = Run(ctx, g.Plan, Options{Workers: cfg.Workers, Exec: h, Replan: rp, MaxReplans: cfg.MaxReplans, Known: cfg.Known,
		Clock: cfg.Clock, OnEvent: cfg.OnEvent})
	if err != nil {
		return g, err
	}
	g.Answer, err = h.Compose(ctx, AnswerPrompt(cfg.Goal, g.Outcome.Tasks, g.Outcome.Results, cfg.SessionOf), g.Outcome.Results)
	return g, err
}

// propose asks the planner (prompt), validates its answer, and on a
// refusal records it and asks once more with the reason.
func propose(ctx context.Context, h Host, cfg Config, rev int, prompt string, validate func(string) ([]Task, error), emit func(Event)) ([]Task, error) {
	var last error
	for attempt := range 2 {
		if attempt > 0 {
			prompt = RetryPrompt(last)
		}
		text, err := h.Ask(ctx, prompt)
		if err != nil {
			return nil, fmt.Errorf("plan: asking the planner: %w", err)
		}
		tasks, err := validate(text)
		if err == nil {
			return tasks, nil
		}
		last = err
		if rerr := h.Refuse(ctx, rev, err); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		emit(Event{Type: EventRejected, Err: err.Error()})
	}
	return nil, fmt.Errorf("%w: %w", ErrRefused, last)
}

// replanner asks the planner for a failed subtree's replacement.
type replanner struct {
	h    Host
	cfg  Config
	emit func(Event)
	rev  int
}

func (r *replanner) Replan(ctx context.Context, f Failure) ([]Task, error) {
	r.rev++
	tasks, err := propose(ctx, r.h, r.cfg, r.rev, ReplanPrompt(f, r.cfg.SessionOf), func(text string) ([]Task, error) {
		p, err := Parse(text)
		if err != nil {
			return nil, err
		}
		return p.Tasks, f.Check(p.Tasks)
	}, r.emit)
	if err != nil {
		return nil, err
	}
	replaced := []string{f.Task.ID}
	for _, t := range f.Dependants {
		replaced = append(replaced, t.ID)
	}
	if err := r.h.Adopt(ctx, Adoption{Revision: r.rev, Tasks: tasks, Failed: f.Task.ID, Err: f.Err, Replaced: replaced}); err != nil {
		return nil, err
	}
	return tasks, nil
}
