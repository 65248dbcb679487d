package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
)

const planHelp = `The planner agent proposes the goal's plan as a DAG of tasks; a plan that
is not valid (a dependency cycle, an unknown dependency, agent or tool) is
refused with the reason, and the model is asked once more. The tasks run as
agent turns, up to --workers at once, longest remaining path first, each
after the tasks it depends on, with their results. A failed task and the
tasks that depend on it are replanned (at most --replans times); the final
answer is composed from the results. Every step is a governed act on the
chain (plan.create, plan.task, plan.replan, plan.answer, and each turn's
llm.call and tool.call); each result and the answer are linked
derived_from what they were made from (weave ecc why ID).

Progress goes to stderr as tasks start and finish, the answer to stdout.
With --json every event is printed as one JSON line as it happens.
Exit status: 0 when every task succeeded and the answer was composed, 1
when the plan failed, 2 with no provider or a bad command line.`

func cmdPlan(e *env, fs *flag.FlagSet) cmdline.Action {
	workers := fs.Int("workers", 4, "tasks running at once (1-32)")
	replans := fs.Int("replans", 2, "replacements of failed subtrees to ask for (0: none)")
	model := fs.String("model", "", "model as provider/model (default: agents.model in weftos.toml)")
	agentName := fs.String("agent", "", "the planner's agent definition (tasks name their own)")
	workspace := fs.String("workspace", "", "workspace directory (default: the current directory)")
	return func(ctx context.Context, args []string) error {
		goal := strings.TrimSpace(strings.Join(args, " "))
		if goal == "" {
			return cmdline.Usagef("plan: the goal is empty")
		}
		if *workers < 1 || *workers > 32 {
			return cmdline.Usagef("plan: --workers %d: want 1 to 32", *workers)
		}
		if *replans < 0 {
			return cmdline.Usagef("plan: --replans %d: want 0 or more", *replans)
		}
		ws, err := workspaceDir(*workspace)
		if err != nil {
			return err
		}
		req := apitype.PlanRequest{Goal: goal, Workspace: ws, Agent: *agentName, Model: *model, Workers: *workers, MaxReplans: *replans}
		if *replans == 0 {
			req.MaxReplans = -1
		}
		return e.withKernel(ctx, func(c *client.Client) error { return e.plan(ctx, c, req) })
	}
}

// plan streams a plan's progress: JSON lines with --json, otherwise one
// line per event on stderr and the answer on stdout.
func (e *env) plan(ctx context.Context, c *client.Client, req apitype.PlanRequest) error {
	var final *apitype.PlanEvent
	enc := json.NewEncoder(e.stdout)
	err := c.PlanRun(ctx, req, func(ev apitype.PlanEvent) error {
		if ev.Type == apitype.PlanFinal || ev.Type == apitype.PlanError {
			final = &ev
		}
		if e.json {
			return enc.Encode(ev)
		}
		if line := planLine(ev); line != "" {
			fmt.Fprintln(e.stderr, line)
		}
		return nil
	})
	if err != nil {
		var ae *client.APIError
		if errors.As(err, &ae) && ae.Code == "no_provider" {
			return &exitError{code: cmdline.ExitUsage, msg: ae.Message + e.daemonHint()}
		}
		return err
	}
	switch {
	case final == nil:
		return errors.New("the daemon ended the plan without an answer")
	case final.Type == apitype.PlanError:
		code := cmdline.ExitError
		if final.Code == "no_provider" {
			code = cmdline.ExitUsage
		}
		if e.json {
			return &exitError{code: code, msg: "plan failed: " + final.Message}
		}
		return &exitError{code: code, msg: final.Message}
	}
	if !e.json {
		fmt.Fprintln(e.stdout, final.Answer)
	}
	return nil
}

// planLine is the progress line of one event ("" for none).
func planLine(ev apitype.PlanEvent) string {
	progress := fmt.Sprintf("[%d/%d]", ev.Done, ev.Total)
	switch ev.Type {
	case apitype.PlanRejected:
		return "plan: proposal refused: " + oneLine(ev.Message)
	case apitype.PlanProposed:
		var b strings.Builder
		fmt.Fprintf(&b, "plan %s: %d tasks", ev.Plan, len(ev.Tasks))
		for _, t := range ev.Tasks {
			fmt.Fprintf(&b, "\n  %s", t.ID)
			if len(t.Deps) > 0 {
				fmt.Fprintf(&b, " (after %s)", strings.Join(t.Deps, ", "))
			}
			fmt.Fprintf(&b, ": %s", shorten(oneLine(t.Prompt), 80))
		}
		return b.String()
	case apitype.PlanStart:
		return fmt.Sprintf("%s start %s (%d running)", progress, ev.Task, ev.Running)
	case apitype.PlanDone:
		return fmt.Sprintf("%s done  %s: %s", progress, ev.Task, shorten(oneLine(ev.Output), 80))
	case apitype.PlanFail:
		return fmt.Sprintf("%s FAIL  %s: %s", progress, ev.Task, oneLine(ev.Message))
	case apitype.PlanReplan:
		added := make([]string, len(ev.Tasks))
		for i, t := range ev.Tasks {
			added[i] = t.ID
			if len(t.Deps) > 0 {
				added[i] += " (after " + strings.Join(t.Deps, ", ") + ")"
			}
		}
		return fmt.Sprintf("%s replan %s: replaced %s with %s", progress, ev.Task, strings.Join(ev.Removed, ", "), strings.Join(added, ", "))
	case apitype.PlanAbandon:
		return fmt.Sprintf("%s gave up on %s (skipped: %s): %s", progress, ev.Task, strings.Join(ev.Skipped, ", "), oneLine(ev.Message))
	case apitype.PlanFinal:
		return fmt.Sprintf("plan %s: done, %d tasks, %d replans; answer %s", ev.Plan, len(ev.Results), ev.Replans, ev.AnswerID)
	}
	return ""
}

// shorten cuts s to n runes with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
