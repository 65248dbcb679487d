package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeTools answers "add" with the sum of a and b, and records calls.
type fakeTools struct {
	mu    sync.Mutex
	calls []llm.ToolCall
}

func (f *fakeTools) Specs() []llm.ToolSpec {
	return []llm.ToolSpec{{Name: "add", Description: "adds a and b", Parameters: json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["a","b"]}`)}}
}

func (f *fakeTools) Run(ctx context.Context, c llm.ToolCall) (string, bool, error) {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	var in struct{ A, B int }
	if err := json.Unmarshal(c.Arguments, &in); err != nil {
		return "bad arguments: " + err.Error(), true, nil
	}
	b, _ := json.Marshal(map[string]int{"sum": in.A + in.B})
	return string(b), false, nil
}

type memJournal struct{ steps []Step }

func (j *memJournal) Record(_ context.Context, s Step) error {
	j.steps = append(j.steps, s)
	return nil
}

type meter struct {
	used, limit uint64
}

func (m *meter) ChargeTokens(n uint64) error {
	m.used += n
	if m.limit > 0 && m.used > m.limit {
		return errors.New("over")
	}
	return nil
}

type observer struct{ calls []LLMCall }

func (o *observer) LLMCall(_ context.Context, c LLMCall) { o.calls = append(o.calls, c) }

func provider(t *testing.T, kind llm.Kind) (*llmtest.Server, llm.Provider) {
	t.Helper()
	var srv *llmtest.Server
	if kind == llm.KindAnthropic {
		srv = llmtest.NewAnthropic(llmtest.Options{})
	} else {
		srv = llmtest.NewOpenAI(llmtest.Options{})
	}
	t.Cleanup(srv.Close)
	p, err := llm.New(llm.Config{Kind: kind, BaseURL: srv.URL, HTTPClient: srv.Client(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return srv, p
}

func TestToolRoundTrip(t *testing.T) {
	for _, kind := range []llm.Kind{llm.KindOpenAI, llm.KindAnthropic} {
		t.Run(string(kind), func(t *testing.T) {
			srv, p := provider(t, kind)
			srv.Push(llmtest.Calls(llmtest.ToolCall{ID: "c1", Name: "add", Arguments: `{"a":2,"b":3}`}, llmtest.ToolCall{ID: "c2", Name: "add", Arguments: `{"a":1,"b":1}`}),
				llmtest.Text("The sums are 5 and 2."))
			tools, j, m, o := &fakeTools{}, &memJournal{}, &meter{}, &observer{}
			var streamed strings.Builder
			res, err := Run(context.Background(), Config{Model: "m", System: "You add."}, Deps{Model: p, Tools: tools, Journal: j, Meter: m, Observer: o,
				OnText: func(s string) { streamed.WriteString(s) }}, nil, "add things", nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Answer != "The sums are 5 and 2." || streamed.String() != res.Answer || res.Turns != 2 {
				t.Fatalf("result %+v streamed %q", res, streamed.String())
			}
			if len(tools.calls) != 2 {
				t.Fatalf("tool calls %v", tools.calls)
			}
			if v := srv.Violations(); len(v) != 0 {
				t.Fatalf("the client sent invalid requests: %v", v)
			}
			var types []StepType
			for _, s := range j.steps {
				types = append(types, s.Type)
			}
			want := []StepType{StepUser, StepModel, StepToolStart, StepToolDone, StepToolStart, StepToolDone, StepModel, StepFinal}
			if strings.Join(stepNames(types), ",") != strings.Join(stepNames(want), ",") {
				t.Fatalf("journal %v", types)
			}
			if len(o.calls) != 2 || o.calls[0].ToolCalls != 2 || o.calls[0].PromptHash == "" || m.used == 0 {
				t.Fatalf("observer %+v meter %d", o.calls, m.used)
			}
		})
	}
}

func stepNames(s []StepType) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = string(x)
	}
	return out
}

func TestLoopGuardAndLimits(t *testing.T) {
	srv, p := provider(t, llm.KindOpenAI)
	same := llmtest.Calls(llmtest.ToolCall{ID: "x", Name: "add", Arguments: `{"a":1,"b":1}`})
	spaced := llmtest.Calls(llmtest.ToolCall{ID: "y", Name: "add", Arguments: `{ "b": 1, "a": 1 }`})
	srv.Push(same, spaced, same)
	_, err := Run(context.Background(), Config{Model: "m", RepeatLimit: 2}, Deps{Model: p, Tools: &fakeTools{}}, nil, "go", nil)
	if !errors.Is(err, ErrLoopGuard) || !strings.Contains(err.Error(), "add") {
		t.Fatalf("loop guard: %v", err)
	}
	srv.Push(llmtest.Calls(llmtest.ToolCall{ID: "a", Name: "add", Arguments: `{"a":1,"b":2}`}), llmtest.Calls(llmtest.ToolCall{ID: "b", Name: "add", Arguments: `{"a":2,"b":2}`}))
	_, err = Run(context.Background(), Config{Model: "m", MaxTurns: 2}, Deps{Model: p, Tools: &fakeTools{}}, nil, "go", nil)
	if !errors.Is(err, ErrMaxTurns) {
		t.Fatalf("max turns: %v", err)
	}
	srv.Push(llmtest.Calls(llmtest.ToolCall{ID: "a", Name: "add", Arguments: `{"a":1,"b":2}`}))
	_, err = Run(context.Background(), Config{Model: "m"}, Deps{Model: p, Tools: &fakeTools{}, Meter: &meter{limit: 1}}, nil, "go", nil)
	if !errors.Is(err, ErrBudget) {
		t.Fatalf("budget: %v", err)
	}
	srv.Push(llmtest.Fail(401))
	if _, err = Run(context.Background(), Config{Model: "m"}, Deps{Model: p, Tools: &fakeTools{}}, nil, "go", nil); !errors.Is(err, llm.ErrAuth) {
		t.Fatalf("model error: %v", err)
	}
}

// TestResume: a run that stopped after a tool call completed (but before
// the next model call) resumes without running the call again.
func TestResume(t *testing.T) {
	srv, p := provider(t, llm.KindOpenAI)
	call := llm.ToolCall{ID: "c1", Name: "add", Arguments: json.RawMessage(`{"a":2,"b":3}`)}
	history := []llm.Message{
		{Role: llm.RoleUser, Content: "add"},
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{call, {ID: "c2", Name: "add", Arguments: json.RawMessage(`{"a":4,"b":4}`)}}},
	}
	done := map[string]llm.Message{"c1": {Role: llm.RoleTool, ToolCallID: "c1", Content: `{"sum":5}`}}
	srv.Push(llmtest.Text("5 and 8"))
	tools := &fakeTools{}
	res, err := Run(context.Background(), Config{Model: "m"}, Deps{Model: p, Tools: tools}, history, "", done)
	if err != nil {
		t.Fatal(err)
	}
	if len(tools.calls) != 1 || tools.calls[0].ID != "c2" {
		t.Fatalf("resumed run ran %v; want only c2", tools.calls)
	}
	if res.Answer != "5 and 8" || len(srv.Violations()) != 0 {
		t.Fatalf("answer %q violations %v", res.Answer, srv.Violations())
	}
}

func TestTrimKeepsExchangesWhole(t *testing.T) {
	long := strings.Repeat("x", 400)
	msgs := []llm.Message{
		{Role: llm.RoleUser, Content: long},
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "1", Name: "t", Arguments: json.RawMessage(`{}`)}}},
		{Role: llm.RoleTool, ToolCallID: "1", Content: long},
		{Role: llm.RoleAssistant, Content: long},
		{Role: llm.RoleUser, Content: "newest"},
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "2", Name: "t", Arguments: json.RawMessage(`{}`)}}},
		{Role: llm.RoleTool, ToolCallID: "2", Content: long},
	}
	got := window(msgs, 200)
	if len(got) != 3 || got[0].Content != "newest" {
		t.Fatalf("window kept %d messages starting %q", len(got), got[0].Content)
	}
	if len(window(msgs, 1_000_000)) != len(msgs) {
		t.Fatal("window dropped messages within budget")
	}
	if s := withMemories("sys", []string{"fact one", strings.Repeat("y", 10_000)}, 50); !strings.Contains(s, "fact one") || strings.Contains(s, "yyyy") {
		t.Fatalf("memories: %q", s)
	}
}

func TestSanitizeDropsUnansweredCalls(t *testing.T) {
	msgs := []llm.Message{
		{Role: llm.RoleUser, Content: "a"},
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "1", Name: "t"}, {ID: "2", Name: "t"}}},
		{Role: llm.RoleTool, ToolCallID: "1", Content: "r"},
		{Role: llm.RoleUser, Content: "b"},
	}
	got := window(msgs, 1_000_000)
	if len(got) != 2 || got[0].Content != "a" || got[1].Content != "b" {
		t.Fatalf("window = %+v", got)
	}
}

// TestLoopGuardCountsOneRun: the loop guard counts the calls of the run
// (resumed runs included), not those of earlier turns of the
// conversation: a user asking for the same thing every few turns is not a
// loop.
func TestLoopGuardCountsOneRun(t *testing.T) {
	srv, p := provider(t, llm.KindOpenAI)
	call := func(id string) llm.ToolCall {
		return llm.ToolCall{ID: id, Name: "add", Arguments: json.RawMessage(`{"a":1,"b":1}`)}
	}
	var history []llm.Message
	for i, id := range []string{"t1", "t2", "t3"} {
		history = append(history,
			llm.Message{Role: llm.RoleUser, Content: "add again"},
			llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{call(id)}},
			llm.Message{Role: llm.RoleTool, ToolCallID: id, Content: `{"sum":2}`},
			llm.Message{Role: llm.RoleAssistant, Content: "2 (" + string(rune('a'+i)) + ")"})
	}
	srv.Push(llmtest.Calls(llmtest.ToolCall{ID: "t4", Name: "add", Arguments: `{"a":1,"b":1}`}), llmtest.Text("2 again"))
	tools := &fakeTools{}
	res, err := Run(context.Background(), Config{Model: "m", RepeatLimit: 2}, Deps{Model: p, Tools: tools}, history, "add again", nil)
	if err != nil {
		t.Fatalf("a call made once in this run, after three earlier turns made it: %v", err)
	}
	if res.Answer != "2 again" || len(tools.calls) != 1 {
		t.Fatalf("answer %q, %d tool calls", res.Answer, len(tools.calls))
	}

	// A resumed run counts the calls it made before the interruption.
	resumed := append(append([]llm.Message(nil), history...),
		llm.Message{Role: llm.RoleUser, Content: "add again"},
		llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{call("r1")}},
		llm.Message{Role: llm.RoleTool, ToolCallID: "r1", Content: `{"sum":2}`},
		llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{call("r2")}},
		llm.Message{Role: llm.RoleTool, ToolCallID: "r2", Content: `{"sum":2}`})
	srv.Push(llmtest.Calls(llmtest.ToolCall{ID: "r3", Name: "add", Arguments: `{"a":1,"b":1}`}))
	if _, err := Run(context.Background(), Config{Model: "m", RepeatLimit: 2}, Deps{Model: p, Tools: &fakeTools{}}, resumed, "", nil); !errors.Is(err, ErrLoopGuard) {
		t.Fatalf("resumed run's third identical call: %v, want the loop guard", err)
	}
}
