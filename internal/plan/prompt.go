package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// MaxResultInPrompt bounds how much of one result a prompt quotes; a
// longer result is cut with a note saying so (and where the whole is).
const MaxResultInPrompt = 8 << 10

const planFormat = `Reply with the plan as one JSON object and nothing else:
{"tasks": [{"id": "ID", "prompt": "INSTRUCTION", "deps": ["ID", ...], "agent": "AGENT", "tools": ["TOOL", ...], "cost": N}, ...]}
- id: 1-32 of A-Z a-z 0-9 _ -, unique;
- prompt: a self-contained instruction for one agent; it will be given the results of its deps;
- deps: the ids of the tasks whose results it needs (no cycles); omit for none;
- agent: one of the agents listed (omit for "default"); tools: tools it will use, from that agent's list (optional);
- cost: an estimate of the task's relative duration (optional, default 1).
Tasks without dependencies between them run in parallel; prefer independent tasks where the work allows.`

// PlanPrompt asks the planner for a plan of goal. catalog lists the
// agents and their tools.
func PlanPrompt(goal, catalog string) string {
	return fmt.Sprintf("Plan how to reach this goal as a DAG of tasks for agents.\n\nGoal: %s\n\nAgents and their tools:\n%s\n\n%s", goal, catalog, planFormat)
}

// RetryPrompt tells the planner why its proposal was refused.
func RetryPrompt(err error) string {
	return fmt.Sprintf("That plan was refused: %v\n\nReply with a corrected plan, as one JSON object and nothing else.", err)
}

// ReplanPrompt asks the planner to replace a failed task and its
// dependants.
func ReplanPrompt(f Failure, sessionOf func(id string) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Task %q failed: %v\n", f.Task.ID, f.Err)
	if len(f.Dependants) > 0 {
		ids := make([]string, len(f.Dependants))
		for i, t := range f.Dependants {
			ids[i] = t.ID
		}
		fmt.Fprintf(&b, "These tasks depend on it and have not run: %s.\n", strings.Join(ids, ", "))
	}
	if len(f.Results) > 0 {
		b.WriteString("\nTasks completed so far (their ids may be used as deps):\n")
		for _, id := range slices.Sorted(maps.Keys(f.Results)) {
			writeResult(&b, id, f.Results[id].Output, sessionOf(id))
		}
	}
	fmt.Fprintf(&b, "\nPropose tasks that replace %q and the tasks that depend on it: they may depend on completed tasks and on each other; their ids must be new or reuse the replaced ids.\n%s",
		f.Task.ID, planFormat)
	return b.String()
}

// TaskPrompt is the instruction an agent gets for task t of a plan for
// goal, with the results of its dependencies.
func TaskPrompt(goal string, t Task, deps map[string]Result, sessionOf func(id string) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "You are doing one task of a plan for this goal: %s\n\nYour task (%s): %s\n", goal, t.ID, t.Prompt)
	if len(t.Tools) > 0 {
		fmt.Fprintf(&b, "Tools expected: %s.\n", strings.Join(t.Tools, ", "))
	}
	if len(t.Deps) > 0 {
		b.WriteString("\nResults of the tasks it depends on:\n")
		for _, d := range t.Deps {
			writeResult(&b, d, deps[d].Output, sessionOf(d))
		}
	}
	b.WriteString("\nDo the task and answer with its result.")
	return b.String()
}

// AnswerPrompt asks for the final answer from the tasks' results, in the
// plan's order.
func AnswerPrompt(goal string, tasks []Task, results map[string]Result, sessionOf func(id string) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Every task of the plan is done. Their results:\n")
	for _, t := range tasks {
		writeResult(&b, t.ID, results[t.ID].Output, sessionOf(t.ID))
	}
	fmt.Fprintf(&b, "\nNow answer the goal from these results: %s", goal)
	return b.String()
}

func writeResult(b *strings.Builder, id, out, session string) {
	fmt.Fprintf(b, "### %s\n", id)
	if len(out) > MaxResultInPrompt {
		cut := MaxResultInPrompt
		for cut > 0 && out[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
			cut--
		}
		fmt.Fprintf(b, "%s\n[… cut at %d of %d bytes; the whole result is in session %s]\n", out[:cut], cut, len(out), session)
		return
	}
	b.WriteString(out)
	b.WriteString("\n")
}
