package plan

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// fakeHost scripts the planner's answers and fails chosen tasks once.
type fakeHost struct {
	mu       sync.Mutex
	answers  []string
	prompts  []string
	refused  []string // "rev: error"
	adopted  []Adoption
	fails    map[string]int
	ran      []string
	composed map[string]Result
}

func (h *fakeHost) Ask(ctx context.Context, prompt string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.prompts = append(h.prompts, prompt)
	if len(h.answers) == 0 {
		return "", errors.New("script exhausted")
	}
	a := h.answers[0]
	h.answers = h.answers[1:]
	return a, nil
}

func (h *fakeHost) Refuse(ctx context.Context, rev int, err error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refused = append(h.refused, fmt.Sprintf("%d: %v", rev, err))
	return nil
}

func (h *fakeHost) Adopt(ctx context.Context, a Adoption) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.adopted = append(h.adopted, a)
	return nil
}

func (h *fakeHost) Execute(ctx context.Context, t Task, deps map[string]Result) (Result, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ran = append(h.ran, t.ID)
	if h.fails[t.ID] > 0 {
		h.fails[t.ID]--
		return Result{}, errors.New("boom")
	}
	return Result{Output: "result of " + t.ID, Ref: "ref-" + t.ID}, nil
}

func (h *fakeHost) Compose(ctx context.Context, prompt string, results map[string]Result) (Result, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.prompts = append(h.prompts, prompt)
	h.composed = maps.Clone(results)
	return Result{Output: "the answer", Ref: "answer-ref"}, nil
}

func TestGenerate(t *testing.T) {
	defer goleak.VerifyNone(t)
	h := &fakeHost{fails: map[string]int{"b": 1}, answers: []string{
		`{"tasks":[{"id":"a","prompt":"A","deps":["b"]},{"id":"b","prompt":"B","deps":["a"]}]}`, // a cycle: refused
		"```json\n" + `{"tasks":[{"id":"a","prompt":"A"},{"id":"b","prompt":"B","deps":["a"],"tools":["read_file"]},{"id":"c","prompt":"C","deps":["b"]},{"id":"d","prompt":"D"}]}` + "\n```",
		`{"tasks":[{"id":"b2","prompt":"B again","deps":["ghost"]}]}`, // unknown dependency: refused
		`{"tasks":[{"id":"b2","prompt":"B again","deps":["a"]},{"id":"c","prompt":"C","deps":["b2"]}]}`,
	}}
	var types []string
	g, err := Generate(context.Background(), h, Config{Goal: "the goal", Catalog: "- default: read_file", Known: agents, Workers: 1,
		SessionOf: func(id string) string { return "plan-x." + id },
		OnEvent:   func(ev Event) { types = append(types, string(ev.Type)+":"+ev.Task) }})
	if err != nil {
		t.Fatal(err)
	}
	if g.Answer.Output != "the answer" || !g.Outcome.OK() || g.Outcome.Replans != 1 || len(g.Plan.Tasks) != 4 {
		t.Fatalf("generated %+v", g)
	}
	if want := []string{"a", "b", "b2", "c", "d"}; !slices.Equal(slices.Sorted(maps.Keys(h.composed)), []string{"a", "b2", "c", "d"}) || !slices.Equal(slices.Sorted(slices.Values(h.ran)), want) {
		t.Fatalf("ran %v, composed from %v", h.ran, slices.Sorted(maps.Keys(h.composed)))
	}
	if len(h.refused) != 2 || !strings.HasPrefix(h.refused[0], "0: plan: dependency cycle a → b → a") ||
		!strings.HasPrefix(h.refused[1], `1: plan: invalid plan: task "b2" depends on "ghost", which is not a task`) {
		t.Fatalf("refused %q", h.refused)
	}
	if len(h.adopted) != 2 || h.adopted[0].Revision != 0 || len(h.adopted[0].Tasks) != 4 ||
		h.adopted[1].Revision != 1 || h.adopted[1].Failed != "b" || h.adopted[1].Err.Error() != "boom" || !slices.Equal(h.adopted[1].Replaced, []string{"b", "c"}) {
		t.Fatalf("adopted %+v", h.adopted)
	}
	// The planner is told why its proposals were refused, and what failed.
	if len(h.prompts) != 5 || !strings.Contains(h.prompts[0], "Goal: the goal") || !strings.Contains(h.prompts[0], "- default: read_file") ||
		!strings.Contains(h.prompts[1], "That plan was refused: plan: dependency cycle a → b → a") ||
		!strings.Contains(h.prompts[2], `Task "b" failed: boom`) || !strings.Contains(h.prompts[2], "These tasks depend on it and have not run: c.") ||
		!strings.Contains(h.prompts[2], "### a\nresult of a\n") ||
		!strings.Contains(h.prompts[3], `That plan was refused: plan: invalid plan: task "b2" depends on "ghost"`) ||
		!strings.Contains(h.prompts[4], "### c\nresult of c\n") || !strings.Contains(h.prompts[4], "answer the goal from these results: the goal") {
		t.Fatalf("prompts:\n%s", strings.Join(h.prompts, "\n-----\n"))
	}
	want := "rejected: plan: start:a done:a start:b fail:b rejected: replan:b start:b2 done:b2 start:d done:d start:c done:c finished:"
	if strings.Join(types, " ") != want {
		t.Fatalf("events\n%s\nwant\n%s", strings.Join(types, " "), want)
	}
}

func TestGenerateRefusedTwice(t *testing.T) {
	h := &fakeHost{answers: []string{"no plan today", `{"tasks":[{"id":"a","prompt":"A","tools":["shell_exec"]}]}`}}
	_, err := Generate(context.Background(), h, Config{Goal: "g", Known: agents})
	if !errors.Is(err, ErrRefused) || !errors.Is(err, ErrUnknown) || len(h.adopted) != 0 || len(h.ran) != 0 || len(h.refused) != 2 {
		t.Fatalf("err %v adopted %v ran %v refused %v", err, h.adopted, h.ran, h.refused)
	}
	if !strings.Contains(err.Error(), `tool "shell_exec" is not offered to agent "default"`) {
		t.Fatalf("err %v", err)
	}
}

func TestTaskPromptCutsLongResults(t *testing.T) {
	long := strings.Repeat("é", MaxResultInPrompt) // 2 bytes each
	p := TaskPrompt("g", Task{ID: "b", Prompt: "B", Deps: []string{"a"}}, map[string]Result{"a": {Output: long}}, func(id string) string { return "plan-x." + id })
	if !strings.Contains(p, fmt.Sprintf("[… cut at %d of %d bytes; the whole result is in session plan-x.a]", MaxResultInPrompt, len(long))) {
		t.Fatalf("prompt tail %q", p[len(p)-200:])
	}
	if !strings.Contains(p, "Your task (b): B") {
		t.Fatal(p[:200])
	}
}
