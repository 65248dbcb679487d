package planhost

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/plan"
)

// fakes records what the host asked of the node.
type fakes struct {
	mu       sync.Mutex
	proposal string
	failTask string
	acts     []string // action names, in order of Do/Refuse
	refused  []string
	edges    []causal.Edge
	stopped  []string
	turns    []apitype.RunRequest
}

func (f *fakes) RunTurn(ctx context.Context, req apitype.RunRequest, emit func(apitype.RunEvent) error) error {
	f.mu.Lock()
	f.turns = append(f.turns, req)
	f.mu.Unlock()
	switch {
	case !req.Once: // the planner's proposal
		return emit(apitype.RunEvent{Type: apitype.RunFinal, Answer: f.proposal, Turns: 1})
	case strings.HasSuffix(req.Session, "."+f.failTask):
		return emit(apitype.RunEvent{Type: apitype.RunError, Code: "model", Message: "the model failed", Turns: 1})
	case strings.Contains(req.Session, "."):
		return emit(apitype.RunEvent{Type: apitype.RunFinal, Answer: "done: " + req.Session, Turns: 2, AnswerID: ""})
	}
	return emit(apitype.RunEvent{Type: apitype.RunFinal, Answer: "the final answer", Turns: 1})
}

func (f *fakes) StopSession(ctx context.Context, session string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = append(f.stopped, session)
}

func (f *fakes) Do(ctx context.Context, act authority.Act, run func(ctx context.Context, pm *authority.Permit) (any, error)) error {
	f.mu.Lock()
	f.acts = append(f.acts, act.Action)
	f.mu.Unlock()
	_, err := run(ctx, &authority.Permit{})
	return err
}

func (f *fakes) Refuse(ctx context.Context, act authority.Act, cause error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refused = append(f.refused, act.Action+": "+cause.Error())
	return fmt.Errorf("%w: %w", authority.ErrRefused, cause)
}

func (f *fakes) LinkEdge(ctx context.Context, subject authority.Subject, e causal.Edge) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if subject.Session == "" {
		return errors.New("no subject session")
	}
	f.edges = append(f.edges, e)
	return nil
}

func (f *fakes) FindAgent(name, workspace string) (agentdef.Definition, error) {
	if name != agentdef.DefaultName && name != "helper" {
		return agentdef.Definition{}, errors.New("no such definition")
	}
	return agentdef.Definition{Name: name}, nil
}

func (f *fakes) Caps(def agentdef.Definition) (kernel.Capabilities, error) {
	return kernel.Capabilities{}, nil
}

func (f *fakes) Offered(def agentdef.Definition, caps kernel.Capabilities) ([]string, error) {
	if def.Name == "helper" {
		return []string{"read_file"}, nil
	}
	return []string{"read_file", "write_file"}, nil
}

func run(t *testing.T, f *fakes) []apitype.PlanEvent {
	t.Helper()
	h := New(Options{Home: t.TempDir(), Auth: f, Agents: f, Linker: f, Catalog: f, Clock: clock.NewFake(time.Unix(1_700_000_000, 0)),
		Code: func(error) string { return "internal" }})
	var evs []apitype.PlanEvent
	var mu sync.Mutex
	h.Run(context.Background(), apitype.PlanRequest{Goal: "ship it", Workspace: t.TempDir(), Workers: 2}, func(ev apitype.PlanEvent) {
		mu.Lock()
		defer mu.Unlock()
		evs = append(evs, ev)
	})
	return evs
}

// TestRunGovernsEveryStep: a plan is adopted (plan.create), each task is a
// plan.task act whose result is linked derived_from its dependency's, the
// answer a plan.answer act linked to every result; the planner's session
// is stopped at the end.
func TestRunGovernsEveryStep(t *testing.T) {
	f := &fakes{proposal: `{"tasks":[{"id":"a","prompt":"A"},{"id":"b","prompt":"B","deps":["a"],"agent":"helper","tools":["read_file"]}]}`}
	evs := run(t, f)
	last := evs[len(evs)-1]
	if last.Type != apitype.PlanFinal || last.Answer != "the final answer" || len(last.Results) != 2 || last.AnswerID == "" || last.Done != 2 || last.Total != 2 {
		t.Fatalf("final event %+v", last)
	}
	if want := []string{"plan.create", "plan.task", "plan.task", "plan.answer"}; !slices.Equal(f.acts, want) {
		t.Fatalf("acts %v, want %v", f.acts, want)
	}
	// b derives from a; the answer from a and b.
	if len(f.edges) != 3 {
		t.Fatalf("edges %+v", f.edges)
	}
	for _, e := range f.edges {
		if e.Type != causal.DerivedFrom || e.Weight != 1 {
			t.Fatalf("edge %+v", e)
		}
	}
	if f.edges[0].To.String() != last.Results["a"] || f.edges[0].From.String() != last.Results["b"] {
		t.Fatalf("b's edge %s → %s, results %v", f.edges[0].From, f.edges[0].To, last.Results)
	}
	if len(f.stopped) != 1 || !strings.HasPrefix(f.stopped[0], "plan-"+last.Plan) {
		t.Fatalf("stopped %v (plan %s)", f.stopped, last.Plan)
	}
	var done []string
	for _, ev := range evs {
		if ev.Type == apitype.PlanDone {
			done = append(done, ev.Task+"="+ev.ResultID)
		}
	}
	slices.Sort(done)
	if want := []string{"a=" + last.Results["a"], "b=" + last.Results["b"]}; !slices.Equal(done, want) {
		t.Fatalf("done events %v, want %v", done, want)
	}
}

// TestRunRefusesUnknownTools: a proposal naming a tool its agent is not
// offered is refused (recorded) twice, and the plan ends invalid_plan.
func TestRunRefusesUnknownTools(t *testing.T) {
	f := &fakes{proposal: `{"tasks":[{"id":"a","prompt":"A","agent":"helper","tools":["write_file"]}]}`}
	evs := run(t, f)
	last := evs[len(evs)-1]
	if last.Type != apitype.PlanError || last.Code != "invalid_plan" {
		t.Fatalf("last event %+v", last)
	}
	if len(f.refused) == 0 || !strings.Contains(f.refused[0], `tool "write_file" is not offered to agent "helper" (it has read_file)`) {
		t.Fatalf("refused %v", f.refused)
	}
	if slices.Contains(f.acts, "plan.task") {
		t.Fatalf("a refused plan ran tasks: %v", f.acts)
	}
}

// TestRunFailedTask: a task whose turn fails ends the plan plan_failed,
// naming it, once its replans are spent.
func TestRunFailedTask(t *testing.T) {
	f := &fakes{failTask: "a", proposal: `{"tasks":[{"id":"a","prompt":"A"}]}`}
	evs := run(t, f)
	last := evs[len(evs)-1]
	if last.Type != apitype.PlanError || last.Code != "plan_failed" || !strings.Contains(last.Message, "failed a") {
		t.Fatalf("last event %+v", last)
	}
}

func TestKnownUnknownAgent(t *testing.T) {
	k := &known{catalog: &fakes{}, workspace: t.TempDir(), tools: map[string][]string{}}
	if err := k.Agent("ghost"); !errors.Is(err, plan.ErrUnknown) {
		t.Fatalf("ghost: %v", err)
	}
	if err := k.Agent("bad name!"); !errors.Is(err, plan.ErrUnknown) {
		t.Fatalf("invalid name: %v", err)
	}
	if err := k.Tool("", "write_file"); err != nil {
		t.Fatalf("default agent's tool: %v", err)
	}
}
