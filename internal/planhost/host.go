package planhost

import (
	"context"
	"crypto/sha3"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/plan"
	"github.com/weftos/weftos/internal/xref"
)

// host is plan.Host for one plan: every step a governed act by the
// operator who asked for the plan, each task an ordinary agent turn.
type host struct {
	Options
	id      string
	req     apitype.PlanRequest
	subject authority.Subject
	emit    func(apitype.PlanEvent)

	mu        sync.Mutex
	results   map[string]string // task id → its latest result's universal id
	adoptSeq  uint64
	answerSeq uint64
}

var _ plan.Host = (*host)(nil)

func shake(b []byte) string { return hex.EncodeToString(sha3.SumSHAKE256(b, 32)) }

// session names the planner's session ("") or a task's.
func (h *host) session(task string) string {
	if task == "" {
		return "plan-" + h.id
	}
	return "plan-" + h.id + "." + task
}

func (h *host) act(action, kind string, extra map[string]string) authority.Act {
	ctx := map[string]string{"plan": h.id}
	for k, v := range extra {
		ctx[k] = v
	}
	return authority.Act{Action: action, Kind: kind, Source: "plan", Subject: h.subject, Context: governance.Context{Extra: ctx}}
}

// turn runs one agent turn and returns its answer; approvals it waits for
// are shown to the client.
func (h *host) turn(ctx context.Context, rr apitype.RunRequest, task string) (answer string, turns int, code string, err error) {
	answer, turns, code, _, err = h.turnWithID(ctx, rr, task)
	return answer, turns, code, err
}

// turnWithID is turn, also returning the answer's Act-mode id (the
// answer linked to the memories recalled for it), if it has one.
func (h *host) turnWithID(ctx context.Context, rr apitype.RunRequest, task string) (answer string, turns int, code, answerID string, err error) {
	var final *apitype.RunEvent
	err = h.Agents.RunTurn(ctx, rr, func(ev apitype.RunEvent) error {
		switch ev.Type {
		case apitype.RunApproval:
			h.emit(apitype.PlanEvent{Type: apitype.PlanApproval, Plan: h.id, Task: task, Code: ev.Action, Message: ev.Reason + " — approve with: weave gov approve " + ev.ActionID})
		case apitype.RunFinal, apitype.RunError:
			final = &ev
		}
		return ctx.Err()
	})
	switch {
	case err != nil:
		return "", 0, h.Code(err), "", err
	case final == nil:
		return "", 0, "internal", "", errors.New("the agent's run ended without an answer")
	case final.Type == apitype.RunError:
		return final.Answer, final.Turns, final.Code, "", fmt.Errorf("%s: %s", final.Code, final.Message)
	case strings.TrimSpace(final.Answer) == "":
		return "", final.Turns, "empty_answer", "", errors.New("the agent answered nothing")
	}
	return final.Answer, final.Turns, "", final.AnswerID, nil
}

func (h *host) Ask(ctx context.Context, prompt string) (string, error) {
	answer, _, _, err := h.turn(ctx, apitype.RunRequest{Agent: h.req.Agent, Model: h.req.Model, Session: h.session(""), Workspace: h.req.Workspace, Message: prompt}, "")
	return answer, err
}

func (h *host) planAct(rev int) authority.Act {
	if rev == 0 {
		return h.act("plan.create", governance.KindPlanCreate, map[string]string{"goal_hash": shake([]byte(h.req.Goal))})
	}
	return h.act("plan.replan", governance.KindPlanReplan, map[string]string{"revision": fmt.Sprint(rev)})
}

// Refuse records a proposal that failed validation (stage input).
func (h *host) Refuse(ctx context.Context, rev int, cause error) error {
	err := h.Auth.Refuse(ctx, h.planAct(rev), fmt.Errorf("%w: %w", authority.ErrInput, cause))
	if errors.Is(err, authority.ErrRefused) {
		return nil // recorded
	}
	return err
}

func (h *host) Adopt(ctx context.Context, a plan.Adoption) error {
	det := governance.PlanDetail{Plan: h.id, Revision: a.Revision, GoalHash: shake([]byte(h.req.Goal)), Workers: h.req.Workers,
		Failed: a.Failed, Replaced: a.Replaced}
	if a.Err != nil {
		det.Error = a.Err.Error()
	}
	for _, t := range a.Tasks {
		det.Tasks = append(det.Tasks, governance.PlanTaskSpec{ID: t.ID, Agent: t.Agent, Deps: t.Deps, Tools: t.Tools, PromptHash: shake([]byte(t.Prompt))})
	}
	return h.Auth.Do(ctx, h.planAct(a.Revision), func(ctx context.Context, pm *authority.Permit) (any, error) {
		if a.Revision == 0 {
			h.mu.Lock()
			h.adoptSeq = pm.DecisionSeq()
			h.mu.Unlock()
		}
		return det, nil
	})
}

// link records that from derives from each of refs (ecc.link acts).
func (h *host) link(ctx context.Context, from xref.ID, refs []string) error {
	for _, ref := range refs {
		to, err := xref.ParseID(ref)
		if err != nil {
			return fmt.Errorf("result id %q: %w", ref, err)
		}
		if err := h.Linker.LinkEdge(ctx, h.subject, causal.Edge{From: causal.ID(from), To: causal.ID(to), Type: causal.DerivedFrom, Weight: 1}); err != nil {
			return fmt.Errorf("linking the result to %s: %w", ref, err)
		}
	}
	return nil
}

// Execute runs a task as a plan.task act around one agent turn in the
// task's own session; its result gets an id derived_from its
// dependencies' results.
func (h *host) Execute(ctx context.Context, t plan.Task, deps map[string]plan.Result) (plan.Result, error) {
	session := h.session(t.ID)
	var res plan.Result
	err := h.Auth.Do(ctx, h.act("plan.task", governance.KindPlanTask, map[string]string{"task": t.ID, "agent": t.Agent, "session": session}),
		func(ctx context.Context, pm *authority.Permit) (any, error) {
			det := governance.PlanTaskDetail{Plan: h.id, Task: t.ID, Agent: t.Agent, Session: session}
			var refs []string
			for _, dep := range t.Deps {
				refs = append(refs, deps[dep].Ref)
			}
			det.Deps = refs
			answer, turns, code, answerID, err := h.turnWithID(ctx, apitype.RunRequest{Agent: t.Agent, Model: h.req.Model, Session: session, Workspace: h.req.Workspace,
				Message: plan.TaskPrompt(h.req.Goal, t, deps, h.session), Once: true}, t.ID)
			det.Turns, det.Code = turns, code
			if err != nil {
				return det, err
			}
			det.AnswerHash = shake([]byte(answer))
			id, err := xref.EventFields("plan.result", h.Clock.Now(), xref.Str("plan", h.id), xref.Str("task", t.ID), xref.Str("answer_hash", det.AnswerHash))
			if err != nil {
				return det, err
			}
			// The result derives from its dependencies' results and, when
			// the turn recalled memories (Act mode), from the turn's
			// answer, itself derived from those memories.
			from := refs
			if answerID != "" {
				det.TurnAnswer = answerID
				from = append(slices.Clone(refs), answerID)
			}
			if err := h.link(ctx, id, from); err != nil {
				det.Code = "link"
				return det, err
			}
			det.Result = id.String()
			res = plan.Result{Output: answer, Ref: id.String()}
			h.mu.Lock()
			h.results[t.ID] = res.Ref
			h.mu.Unlock()
			return det, nil
		})
	return res, err
}

// Compose is the final answer: a plan.answer act around the planner's
// last turn; the answer's id is derived_from every task's result.
func (h *host) Compose(ctx context.Context, prompt string, results map[string]plan.Result) (plan.Result, error) {
	var res plan.Result
	session := h.session("")
	err := h.Auth.Do(ctx, h.act("plan.answer", governance.KindPlanAnswer, nil), func(ctx context.Context, pm *authority.Permit) (any, error) {
		det := governance.PlanAnswerDetail{Plan: h.id, Session: session, From: []string{}}
		for _, id := range slices.Sorted(maps.Keys(results)) {
			det.From = append(det.From, results[id].Ref)
		}
		answer, _, _, answerID, err := h.turnWithID(ctx, apitype.RunRequest{Agent: h.req.Agent, Model: h.req.Model, Session: session, Workspace: h.req.Workspace, Message: prompt, Once: true}, "")
		if err != nil {
			return det, err
		}
		from := det.From
		if answerID != "" {
			det.TurnAnswer = answerID
			from = append(slices.Clone(from), answerID)
		}
		det.AnswerHash = shake([]byte(answer))
		id, err := xref.EventFields("plan.answer", h.Clock.Now(), xref.Str("plan", h.id), xref.Str("answer_hash", det.AnswerHash))
		if err != nil {
			return det, err
		}
		if err := h.link(ctx, id, from); err != nil {
			return det, err
		}
		det.Answer = id.String()
		h.answerSeq = pm.DecisionSeq()
		res = plan.Result{Output: answer, Ref: id.String()}
		return det, nil
	})
	return res, err
}

func planTasks(ts []plan.Task) []apitype.PlanTask {
	out := make([]apitype.PlanTask, len(ts))
	for i, t := range ts {
		out[i] = apitype.PlanTask{ID: t.ID, Agent: t.Agent, Prompt: t.Prompt, Deps: t.Deps, Tools: t.Tools}
	}
	return out
}

// event turns the scheduler's events into the client's.
func (h *host) event(ev plan.Event) {
	out := apitype.PlanEvent{Plan: h.id, Time: ev.At.UTC(), Task: ev.Task, Running: ev.Running, Done: ev.Done, Total: ev.Total}
	switch ev.Type {
	case plan.EventProposed:
		h.mu.Lock()
		out.Seq = h.adoptSeq
		h.mu.Unlock()
		out.Type, out.Tasks = apitype.PlanProposed, planTasks(ev.Tasks)
	case plan.EventRejected:
		out.Type, out.Message = apitype.PlanRejected, ev.Err
	case plan.EventStart:
		out.Type = apitype.PlanStart
	case plan.EventDone:
		h.mu.Lock()
		out.ResultID = h.results[ev.Task]
		h.mu.Unlock()
		out.Type, out.Output = apitype.PlanDone, ev.Output
	case plan.EventFail:
		out.Type, out.Message = apitype.PlanFail, ev.Err
	case plan.EventReplan:
		out.Type, out.Removed, out.Tasks = apitype.PlanReplan, ev.Removed, planTasks(ev.Tasks)
	case plan.EventAbandon:
		out.Type, out.Skipped, out.Message = apitype.PlanAbandon, ev.Skipped, ev.Err
	default:
		return
	}
	h.emit(out)
}
