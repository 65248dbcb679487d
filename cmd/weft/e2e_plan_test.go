package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/llm/llmtest"
	"github.com/weftos/weftos/internal/xref"
)

// planModel is a scripted model for a plan of four tasks: its first
// proposal has a cycle (refused: the planner is asked once more), task
// "draft" always fails (a 400 from the provider), and the replacement the
// planner proposes redoes it as "draft2", with "review" after it.
func planModel(r llmtest.Request) llmtest.Turn {
	var body struct {
		Messages []struct {
			Role    string `json:"role"`
			Content any    `json:"content"`
		} `json:"messages"`
	}
	_ = r.Decode(&body)
	user := lastUser(r)
	if n := len(body.Messages); n > 0 && body.Messages[n-1].Role == "tool" {
		if strings.Contains(user, "Your task (facts)") {
			return llmtest.Text("Kernels schedule processes. Kernels isolate them.")
		}
		return llmtest.Text("The README says WeftOS runs agents as kernel processes.")
	}
	switch {
	case strings.HasPrefix(user, "Plan how to reach this goal"):
		return llmtest.Text(`{"tasks":[{"id":"gather","prompt":"Read README.md","deps":["review"]},{"id":"review","prompt":"Review","deps":["gather"]}]}`)
	case strings.HasPrefix(user, "That plan was refused"):
		return llmtest.Text("```json\n" + `{"tasks":[
			{"id":"gather","prompt":"Read README.md and say what WeftOS does.","tools":["read_file"],"cost":2},
			{"id":"facts","prompt":"List two facts about kernels."},
			{"id":"draft","prompt":"Draft a paragraph from the README and the facts.","deps":["gather","facts"]},
			{"id":"review","prompt":"Review the draft.","deps":["draft"]}]}` + "\n```")
	case strings.HasPrefix(user, `Task "draft" failed`):
		return llmtest.Text(`{"tasks":[{"id":"draft2","prompt":"Draft the paragraph again, shorter.","deps":["gather","facts"]},{"id":"review","prompt":"Review the draft.","deps":["draft2"]}]}`)
	case strings.HasPrefix(user, "Every task of the plan is done"):
		return llmtest.Text("WeftOS runs agents as kernel processes, reviewed.")
	case strings.Contains(user, "Your task (gather)"):
		return llmtest.Calls(llmtest.ToolCall{ID: "call_g1", Name: "read_file", Arguments: `{"path":"README.md"}`})
	case strings.Contains(user, "Your task (facts)"):
		// Remembered: later turns recall it (Act mode), and the results
		// they make derive from their answers, which derive from it.
		return llmtest.Calls(llmtest.ToolCall{ID: "call_f1", Name: "memory_store", Arguments: `{"text":"Kernels schedule processes and isolate them."}`})
	case strings.Contains(user, "Your task (draft)"):
		return llmtest.Turn{Error: &llmtest.Error{Status: 400, Message: "the draft model refuses"}}
	case strings.Contains(user, "Your task (draft2)"):
		if !strings.Contains(user, "### gather\nThe README says") || !strings.Contains(user, "### facts\nKernels schedule") {
			return llmtest.Text("MISSING DEPENDENCY RESULTS")
		}
		return llmtest.Text("Draft: WeftOS runs agents as kernel processes.")
	case strings.Contains(user, "Your task (review)"):
		if !strings.Contains(user, "### draft2\nDraft: WeftOS") {
			return llmtest.Text("MISSING DEPENDENCY RESULTS")
		}
		return llmtest.Text("Reviewed: fine.")
	}
	return llmtest.Turn{Error: &llmtest.Error{Status: 400, Message: "unexpected prompt: " + user}}
}

// TestPlanEndToEnd: weft plan with the kernel in-process — the first
// proposal is refused (a cycle) and recorded, the second adopted; four
// tasks run on agents (one reads a file through a governed tool call),
// "draft" fails and is replanned with its dependant; every step is on the
// chain, the chain audits clean, and each result (and the answer) is
// derived_from exactly the results it was made from, in the causal graph.
func TestPlanEndToEnd(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{APIKey: "sk-test-key", Handler: planModel})
	defer srv.Close()
	for k, v := range map[string]string{"OPENAI_BASE_URL": srv.URL, "OPENAI_API_KEY": "sk-test-key", "ANTHROPIC_API_KEY": "", "ANTHROPIC_BASE_URL": ""} {
		t.Setenv(k, v)
	}
	home, ws := filepath.Join(t.TempDir(), "home"), t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "README.md"), []byte("# Demo\nWeftOS runs agents as kernel processes.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run([]string{"plan", "--home", home, "--workspace", ws, "--model", "openai/test-model", "--workers", "3", "--json",
		"Explain", "what", "WeftOS", "does"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out.String(), errb.String())
	}
	if v := srv.Violations(); len(v) != 0 {
		t.Fatalf("requests the real API would reject: %v", v)
	}
	var events []apitype.PlanEvent
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var ev apitype.PlanEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		events = append(events, ev)
	}
	var types []string
	done := map[string]string{} // task → result id
	for _, ev := range events {
		types = append(types, ev.Type+":"+ev.Task)
		if ev.Type == apitype.PlanDone {
			done[ev.Task] = ev.ResultID
		}
	}
	final := events[len(events)-1]
	if final.Type != apitype.PlanFinal || final.Answer != "WeftOS runs agents as kernel processes, reviewed." || final.Replans != 1 {
		t.Fatalf("final %+v\nevents %v", final, types)
	}
	if events[0].Type != apitype.PlanRejected || !strings.Contains(events[0].Message, "dependency cycle gather → review → gather") ||
		events[1].Type != apitype.PlanProposed || len(events[1].Tasks) != 4 || events[1].Seq == 0 {
		t.Fatalf("first events %+v %+v", events[0], events[1])
	}
	for _, want := range []string{"fail:draft", "replan:draft", "done:draft2", "done:review"} {
		if !slices.Contains(types, want) {
			t.Fatalf("no %s in %v", want, types)
		}
	}
	if len(done) != 4 || !mapsEqual(done, final.Results) {
		t.Fatalf("done %v, final results %v", done, final.Results)
	}

	// The chain: the refused proposal, the plan, the replan, five task
	// runs (draft failed), the answer — and the turns' own acts.
	kinds := map[string]int{}
	var taskDetails []governance.PlanTaskDetail
	var answerDetail governance.PlanAnswerDetail
	edges := map[string][]string{} // from → to (derived_from)
	refusedPlan := false
	for _, ev := range chainEvents(t, home) {
		kinds[ev.Kind]++
		switch ev.Kind {
		case governance.KindPlanTask:
			var rec governance.ActRecord
			var det governance.PlanTaskDetail
			if json.Unmarshal(ev.Payload, &rec) != nil || json.Unmarshal(rec.Detail, &det) != nil {
				t.Fatalf("plan.task %s", ev.Payload)
			}
			if rec.OK != (det.Task != "draft") {
				t.Fatalf("plan.task %s ok %v: %s", det.Task, rec.OK, rec.Error)
			}
			taskDetails = append(taskDetails, det)
		case governance.KindPlanAnswer:
			var rec governance.ActRecord
			if json.Unmarshal(ev.Payload, &rec) != nil || json.Unmarshal(rec.Detail, &answerDetail) != nil || !rec.OK {
				t.Fatalf("plan.answer %s", ev.Payload)
			}
		case governance.KindEccEdge:
			var rec governance.ActRecord
			var det governance.EccEdgeDetail
			if json.Unmarshal(ev.Payload, &rec) != nil || json.Unmarshal(rec.Detail, &det) != nil || !det.Added || det.Type != "derived_from" {
				t.Fatalf("ecc.edge %s", ev.Payload)
			}
			edges[det.From] = append(edges[det.From], det.To)
		case governance.KindRefusal:
			var rec governance.RefusalRecord
			if json.Unmarshal(ev.Payload, &rec) == nil && rec.Request.Action == "plan.create" && strings.Contains(rec.Reason, "dependency cycle") {
				refusedPlan = true
			}
		}
	}
	if kinds["plan.create"] != 1 || kinds["plan.replan"] != 1 || kinds["plan.task"] != 5 || kinds["plan.answer"] != 1 || !refusedPlan ||
		kinds["tool.call"] != 1 || kinds["memory.store"] != 1 || kinds["llm.call"] < 11 {
		t.Fatalf("chain kinds %v, plan refusal recorded %v", kinds, refusedPlan)
	}
	for _, det := range taskDetails {
		if det.Task != "draft" && det.Result != done[det.Task] {
			t.Fatalf("plan.task %s result %s, stream said %s", det.Task, det.Result, done[det.Task])
		}
	}
	// Each result derives from its dependencies' results — and from its
	// turn's own answer when the turn recalled the memory "facts" stored
	// (Act mode), which derives from that memory; the answer from every
	// result.
	turnAnswer := map[string]string{}
	for _, det := range taskDetails {
		turnAnswer[det.Task] = det.TurnAnswer
	}
	withTurn := func(turn string, to ...string) []string {
		if turn != "" {
			to = append(to, turn)
		}
		return to
	}
	if turnAnswer["review"] == "" || answerDetail.TurnAnswer == "" || answerDetail.Answer != final.AnswerID {
		t.Fatalf("turns after the memory was stored recalled nothing: %v, answer %+v", turnAnswer, answerDetail)
	}
	want := map[string][]string{
		done["gather"]: withTurn(turnAnswer["gather"]),
		done["facts"]:  withTurn(turnAnswer["facts"]),
		done["draft2"]: withTurn(turnAnswer["draft2"], done["gather"], done["facts"]),
		done["review"]: withTurn(turnAnswer["review"], done["draft2"]),
		final.AnswerID: withTurn(answerDetail.TurnAnswer, sortedVals(done)...),
	}
	for from := range edges {
		slices.Sort(edges[from])
	}
	for from, to := range want {
		slices.Sort(to)
		if !slices.Equal(edges[from], to) {
			t.Fatalf("derived_from of %s: %v, want %v (all edges %v)", from, edges[from], to, edges)
		}
	}
	if len(edges[answerDetail.TurnAnswer]) == 0 || len(edges[turnAnswer["review"]]) == 0 {
		t.Fatalf("a turn's answer is not linked to the memory it recalled: %v", edges)
	}

	// The graph the node persisted answers why: the answer ← the results.
	g, err := causal.Open(filepath.Join(home, "graph.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	aid, err := xref.ParseID(final.AnswerID)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := g.Why(causal.ID(aid), 3, causal.AsOf{})
	if err != nil {
		t.Fatal(err)
	}
	reached := map[string]bool{}
	for _, s := range steps {
		reached[s.Node.String()] = true
	}
	for task, id := range done {
		if !reached[id] {
			t.Fatalf("why(answer) does not reach %s's result: %v", task, steps)
		}
	}
	// The cross-reference index: the plan.answer outcome produced the
	// answer, which lives in the planner's session.
	x, err := xref.Open(filepath.Join(home, "xref.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	var rels []string
	for _, l := range x.In(xref.ID(aid)) {
		rels = append(rels, l.Rel)
	}
	for _, l := range x.Out(xref.ID(aid)) {
		rels = append(rels, l.Rel)
	}
	if !slices.Contains(rels, "produced") || !slices.Contains(rels, "in_session") || !slices.Contains(rels, "ecc.derived_from") {
		t.Fatalf("the answer's links: %v", rels)
	}
	auditClean(t, home)

	// Without --json: progress on stderr as tasks start and finish, the
	// answer on stdout.
	out.Reset()
	errb.Reset()
	code = run([]string{"plan", "--home", home, "--workspace", ws, "--model", "openai/test-model", "Explain WeftOS"}, strings.NewReader(""), &out, &errb)
	if code != 0 || out.String() != "WeftOS runs agents as kernel processes, reviewed.\n" {
		t.Fatalf("exit %d\nstdout %q\nstderr %s", code, out.String(), errb.String())
	}
	for _, want := range []string{"plan: proposal refused: plan: dependency cycle gather → review → gather", "  draft (after gather, facts): Draft a paragraph",
		"start gather", "done  facts: Kernels schedule processes.", "FAIL  draft: ", "replan draft: replaced draft, review with draft2 (after gather, facts), review (after draft2)",
		"[4/4] done  review: Reviewed: fine.", ": done, 4 tasks, 1 replans; answer "} {
		if !strings.Contains(errb.String(), want) {
			t.Fatalf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	auditClean(t, home)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func sortedVals(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

func TestPlanProgressLines(t *testing.T) {
	cases := []struct {
		ev   apitype.PlanEvent
		want string
	}{
		{apitype.PlanEvent{Type: apitype.PlanStart, Task: "a", Running: 2, Done: 1, Total: 4}, "[1/4] start a (2 running)"},
		{apitype.PlanEvent{Type: apitype.PlanDone, Task: "a", Output: "line one\nline two", Done: 2, Total: 4}, "[2/4] done  a: line one line two"},
		{apitype.PlanEvent{Type: apitype.PlanFail, Task: "b", Message: "agent_error: boom", Done: 2, Total: 4}, "[2/4] FAIL  b: agent_error: boom"},
		{apitype.PlanEvent{Type: apitype.PlanReplan, Task: "b", Removed: []string{"b", "c"}, Tasks: []apitype.PlanTask{{ID: "b2", Deps: []string{"a"}}, {ID: "c", Deps: []string{"b2"}}}, Done: 2, Total: 4},
			"[2/4] replan b: replaced b, c with b2 (after a), c (after b2)"},
		{apitype.PlanEvent{Type: apitype.PlanAbandon, Task: "b", Skipped: []string{"c"}, Message: "boom", Done: 2, Total: 4}, "[2/4] gave up on b (skipped: c): boom"},
		{apitype.PlanEvent{Type: apitype.PlanProposed, Plan: "ab12", Tasks: []apitype.PlanTask{{ID: "a", Prompt: "Do A"}, {ID: "b", Prompt: "Do B", Deps: []string{"a"}}}},
			"plan ab12: 2 tasks\n  a: Do A\n  b (after a): Do B"},
	}
	for _, c := range cases {
		if got := planLine(c.ev); got != c.want {
			t.Errorf("%s: %q, want %q", c.ev.Type, got, c.want)
		}
	}
	if got := planLine(apitype.PlanEvent{Type: apitype.PlanDone, Task: "a", Output: strings.Repeat("x", 100)}); !strings.HasSuffix(got, "…") || len([]rune(got)) != len("[0/0] done  a: ")+80 {
		t.Errorf("long output: %q", got)
	}
}

// TestPlanRefusedTwice: a planner that names a tool its agent is not
// offered, twice, ends the plan (exit 1, invalid_plan) with both refusals
// on the chain and nothing adopted or run.
func TestPlanRefusedTwice(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{APIKey: "sk-test-key", Handler: func(r llmtest.Request) llmtest.Turn {
		return llmtest.Text(`{"tasks":[{"id":"a","prompt":"Do it","tools":["no_such_tool"]}]}`)
	}})
	defer srv.Close()
	for k, v := range map[string]string{"OPENAI_BASE_URL": srv.URL, "OPENAI_API_KEY": "sk-test-key", "ANTHROPIC_API_KEY": "", "ANTHROPIC_BASE_URL": ""} {
		t.Setenv(k, v)
	}
	home, ws := filepath.Join(t.TempDir(), "home"), t.TempDir()
	var out, errb bytes.Buffer
	code := run([]string{"plan", "--home", home, "--workspace", ws, "--model", "openai/test-model", "do it"}, strings.NewReader(""), &out, &errb)
	want := `tool "no_such_tool" is not offered to agent "default" (it has `
	if code != 1 || out.Len() != 0 || !strings.Contains(errb.String(), "weft: plan: the planner's proposal was refused twice: task \"a\": plan: unknown agent or tool: "+want) ||
		strings.Count(errb.String(), "plan: proposal refused: ") != 2 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out.String(), errb.String())
	}
	kinds := map[string]int{}
	refusals := 0
	for _, ev := range chainEvents(t, home) {
		kinds[ev.Kind]++
		var rec governance.RefusalRecord
		if ev.Kind == governance.KindRefusal && json.Unmarshal(ev.Payload, &rec) == nil && rec.Request.Action == "plan.create" &&
			rec.Stage == governance.StageInput && strings.Contains(rec.Reason, want) {
			refusals++
		}
	}
	if refusals != 2 || kinds["plan.create"] != 0 || kinds["plan.task"] != 0 || kinds["llm.call"] != 2 {
		t.Fatalf("refusals %d, kinds %v", refusals, kinds)
	}
	auditClean(t, home)
}
