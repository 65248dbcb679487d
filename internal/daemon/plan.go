package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/plan"
	"github.com/weftos/weftos/internal/xref"
)

// maxPlanWorkers bounds a plan's parallelism.
const maxPlanWorkers = 32

func (d *Daemon) planRoutes() []localapi.Route {
	return []localapi.Route{{Pattern: "POST /v1/plan/run", Handler: d.handlePlanRun}}
}

// handlePlanRun is ECC's Generate mode (`weft plan`): it streams the
// plan's progress as JSON lines (apitype.PlanEvent).
func (d *Daemon) handlePlanRun(w http.ResponseWriter, r *http.Request) {
	var req apitype.PlanRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	req.Goal = strings.TrimSpace(req.Goal)
	if req.Workspace == "" {
		req.Workspace = d.cfg.Agents.Workspace
	}
	switch {
	case req.Goal == "":
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", "the goal is empty")
		return
	case req.Workspace == "" || !filepath.IsAbs(req.Workspace):
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", "the workspace must be an absolute path")
		return
	case req.Agent != "" && req.Agent != agentdef.DefaultName && !agentdef.ValidName(req.Agent):
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("agent name %q is not valid", req.Agent))
		return
	case req.Workers < 0 || req.Workers > maxPlanWorkers:
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("workers %d: want 1 to %d", req.Workers, maxPlanWorkers))
		return
	}
	if d.graph == nil {
		d.fail(w, d.chainErr())
		return
	}
	if _, err := d.agenthost.CheckModel(r.Context(), req.Model); err != nil {
		d.fail(w, err)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-d.closing: // the node shuts down: the plan stops (the error says so)
			cancel()
		case <-ctx.Done():
		}
	}()
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	var mu sync.Mutex
	emit := func(ev apitype.PlanEvent) {
		mu.Lock()
		defer mu.Unlock()
		if ev.Time.IsZero() {
			ev.Time = d.opts.Clock.Now().UTC()
		}
		if enc.Encode(ev) != nil {
			cancel() // the client went away: the plan stops
			return
		}
		if fl != nil {
			fl.Flush()
		}
	}
	d.runPlan(ctx, req, emit)
}

// runPlan runs one plan to its end and emits its events, the last one
// final or error.
func (d *Daemon) runPlan(ctx context.Context, req apitype.PlanRequest, emit func(apitype.PlanEvent)) {
	var b [4]byte
	_, _ = rand.Read(b[:])
	h := &planHost{d: d, id: hex.EncodeToString(b[:]), req: req, emit: emit, results: map[string]string{}}
	h.subject = operator()
	h.subject.Session = h.session("")
	// The planner's agent lingers between its turns; it goes at the end.
	defer d.stopSessionAgent(context.WithoutCancel(ctx), h.session(""))
	known := &planKnown{d: d, workspace: req.Workspace, tools: map[string][]string{}}
	catalog, err := known.catalog()
	if err != nil {
		emit(apitype.PlanEvent{Type: apitype.PlanError, Plan: h.id, Code: d.codeOf(err), Message: err.Error()})
		return
	}
	g, err := plan.Generate(ctx, h, plan.Config{Goal: req.Goal, Catalog: catalog, Known: known, Workers: req.Workers, MaxReplans: req.MaxReplans,
		Clock: d.opts.Clock, SessionOf: h.session, OnEvent: h.event})
	if err != nil {
		ev := apitype.PlanEvent{Type: apitype.PlanError, Plan: h.id, Code: d.codeOf(err), Message: err.Error(), Replans: g.Outcome.Replans}
		switch {
		case errors.Is(err, plan.ErrRefused):
			ev.Code = "invalid_plan"
		case errors.Is(err, plan.ErrIncomplete):
			ev.Code = "plan_failed"
			ev.Message = fmt.Sprintf("the plan did not complete: failed %s; skipped %s", strings.Join(g.Outcome.Failed, ", "), orNone(g.Outcome.Skipped))
		case errors.Is(err, context.Canceled):
			ev.Code = "cancelled"
		}
		emit(ev)
		return
	}
	results := map[string]string{}
	for id, r := range g.Outcome.Results {
		results[id] = r.Ref
	}
	emit(apitype.PlanEvent{Type: apitype.PlanFinal, Plan: h.id, Answer: g.Answer.Output, AnswerID: g.Answer.Ref, Results: results,
		Replans: g.Outcome.Replans, Done: len(results), Total: len(g.Outcome.Tasks), Seq: h.answerSeq})
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// planHost is plan.Host for one plan: every step a governed act by the
// operator who asked for the plan, each task an ordinary agent turn.
type planHost struct {
	d       *Daemon
	id      string
	req     apitype.PlanRequest
	subject authority.Subject
	emit    func(apitype.PlanEvent)

	mu        sync.Mutex
	results   map[string]string // task id → its latest result's universal id
	adoptSeq  uint64
	answerSeq uint64
}

var _ plan.Host = (*planHost)(nil)

// session names the planner's session ("") or a task's.
func (h *planHost) session(task string) string {
	if task == "" {
		return "plan-" + h.id
	}
	return "plan-" + h.id + "." + task
}

func (h *planHost) act(action, kind string, extra map[string]string) authority.Act {
	ctx := map[string]string{"plan": h.id}
	for k, v := range extra {
		ctx[k] = v
	}
	return authority.Act{Action: action, Kind: kind, Source: "plan", Subject: h.subject, Context: governance.Context{Extra: ctx}}
}

// turn runs one agent turn and returns its answer; approvals it waits for
// are shown to the client.
func (h *planHost) turn(ctx context.Context, rr apitype.RunRequest, task string) (answer string, turns int, code string, err error) {
	answer, turns, code, _, err = h.turnWithID(ctx, rr, task)
	return answer, turns, code, err
}

// turnWithID is turn, also returning the answer's Act-mode id (the
// answer linked to the memories recalled for it), if it has one.
func (h *planHost) turnWithID(ctx context.Context, rr apitype.RunRequest, task string) (answer string, turns int, code, answerID string, err error) {
	var final *apitype.RunEvent
	err = h.d.runAgent(ctx, rr, func(ev apitype.RunEvent) error {
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
		return "", 0, h.d.codeOf(err), "", err
	case final == nil:
		return "", 0, "internal", "", errors.New("the agent's run ended without an answer")
	case final.Type == apitype.RunError:
		return final.Answer, final.Turns, final.Code, "", fmt.Errorf("%s: %s", final.Code, final.Message)
	case strings.TrimSpace(final.Answer) == "":
		return "", final.Turns, "empty_answer", "", errors.New("the agent answered nothing")
	}
	return final.Answer, final.Turns, "", final.AnswerID, nil
}

func (h *planHost) Ask(ctx context.Context, prompt string) (string, error) {
	answer, _, _, err := h.turn(ctx, apitype.RunRequest{Agent: h.req.Agent, Model: h.req.Model, Session: h.session(""), Workspace: h.req.Workspace, Message: prompt}, "")
	return answer, err
}

func (h *planHost) planAct(rev int) authority.Act {
	if rev == 0 {
		return h.act("plan.create", governance.KindPlanCreate, map[string]string{"goal_hash": shake([]byte(h.req.Goal))})
	}
	return h.act("plan.replan", governance.KindPlanReplan, map[string]string{"revision": fmt.Sprint(rev)})
}

// Refuse records a proposal that failed validation (stage input).
func (h *planHost) Refuse(ctx context.Context, rev int, cause error) error {
	err := h.d.auth.Refuse(ctx, h.planAct(rev), fmt.Errorf("%w: %w", authority.ErrInput, cause))
	if errors.Is(err, authority.ErrRefused) {
		return nil // recorded
	}
	return err
}

func (h *planHost) Adopt(ctx context.Context, a plan.Adoption) error {
	det := governance.PlanDetail{Plan: h.id, Revision: a.Revision, GoalHash: shake([]byte(h.req.Goal)), Workers: h.req.Workers,
		Failed: a.Failed, Replaced: a.Replaced}
	if a.Err != nil {
		det.Error = a.Err.Error()
	}
	for _, t := range a.Tasks {
		det.Tasks = append(det.Tasks, governance.PlanTaskSpec{ID: t.ID, Agent: t.Agent, Deps: t.Deps, Tools: t.Tools, PromptHash: shake([]byte(t.Prompt))})
	}
	return h.d.auth.Do(ctx, h.planAct(a.Revision), func(ctx context.Context, pm *authority.Permit) (any, error) {
		if a.Revision == 0 {
			h.mu.Lock()
			h.adoptSeq = pm.DecisionSeq()
			h.mu.Unlock()
		}
		return det, nil
	})
}

// resultRef parses a result id a task or the answer derives from.
func resultRef(ref string) (causal.ID, error) {
	id, err := xref.ParseID(ref)
	return causal.ID(id), err
}

// link records that from derives from each of refs (ecc.link acts).
func (h *planHost) link(ctx context.Context, from xref.ID, refs []string) error {
	for _, ref := range refs {
		to, err := resultRef(ref)
		if err != nil {
			return fmt.Errorf("result id %q: %w", ref, err)
		}
		if _, err := h.d.linkEdge(ctx, h.subject, causal.Edge{From: causal.ID(from), To: to, Type: causal.DerivedFrom, Weight: 1}); err != nil {
			return fmt.Errorf("linking the result to %s: %w", ref, err)
		}
	}
	return nil
}

// Execute runs a task as a plan.task act around one agent turn in the
// task's own session; its result gets an id derived_from its
// dependencies' results.
func (h *planHost) Execute(ctx context.Context, t plan.Task, deps map[string]plan.Result) (plan.Result, error) {
	session := h.session(t.ID)
	var res plan.Result
	err := h.d.auth.Do(ctx, h.act("plan.task", governance.KindPlanTask, map[string]string{"task": t.ID, "agent": t.Agent, "session": session}),
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
			id, err := xref.EventFields("plan.result", h.d.opts.Clock.Now(), xref.Str("plan", h.id), xref.Str("task", t.ID), xref.Str("answer_hash", det.AnswerHash))
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
func (h *planHost) Compose(ctx context.Context, prompt string, results map[string]plan.Result) (plan.Result, error) {
	var res plan.Result
	session := h.session("")
	err := h.d.auth.Do(ctx, h.act("plan.answer", governance.KindPlanAnswer, nil), func(ctx context.Context, pm *authority.Permit) (any, error) {
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
		id, err := xref.EventFields("plan.answer", h.d.opts.Clock.Now(), xref.Str("plan", h.id), xref.Str("answer_hash", det.AnswerHash))
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
func (h *planHost) event(ev plan.Event) {
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

// planKnown is plan.Known over the node: the agent definitions the
// workspace and the home hold (and the default), and the tools each is
// offered — built-in, memory and installed WASM tools, as a run would
// offer them (tools of MCP servers are not known before a run connects
// them, so a plan cannot name them).
type planKnown struct {
	d         *Daemon
	workspace string
	mu        sync.Mutex
	tools     map[string][]string
}

func agentName(name string) string {
	if name == "" {
		return agentdef.DefaultName
	}
	return name
}

func (k *planKnown) Agent(name string) error {
	_, err := k.offered(name)
	return err
}

func (k *planKnown) Tool(agent, tool string) error {
	tools, err := k.offered(agent)
	if err != nil {
		return err
	}
	if !slices.Contains(tools, tool) {
		return fmt.Errorf("%w: tool %q is not offered to agent %q (it has %s)", plan.ErrUnknown, tool, agentName(agent), orNone(tools))
	}
	return nil
}

// offered lists the tools agent is offered, cached per plan.
func (k *planKnown) offered(agent string) ([]string, error) {
	name := agentName(agent)
	k.mu.Lock()
	defer k.mu.Unlock()
	if t, ok := k.tools[name]; ok {
		return t, nil
	}
	if name != agentdef.DefaultName && !agentdef.ValidName(name) {
		return nil, fmt.Errorf("%w: agent %q: not a valid name", plan.ErrUnknown, name)
	}
	def, err := k.d.agenthost.FindAgent(name, k.workspace)
	if err != nil {
		return nil, fmt.Errorf("%w: agent %q: %v", plan.ErrUnknown, name, err)
	}
	caps, err := k.d.agenthost.Caps(def)
	if err != nil {
		return nil, fmt.Errorf("agent %q: %w", name, err)
	}
	out, err := k.d.agenthost.Offered(def, caps)
	if err != nil {
		return nil, fmt.Errorf("listing the tools of agent %q: %w", name, err)
	}
	k.tools[name] = out
	return out, nil
}

// catalog lists the agents a plan may name and their tools.
func (k *planKnown) catalog() (string, error) {
	names := []string{agentdef.DefaultName}
	defs, _ := agentdef.List(k.workspace, k.d.home) // unreadable definitions are not offered
	for _, def := range defs {
		if !slices.Contains(names, def.Name) {
			names = append(names, def.Name)
		}
	}
	var b strings.Builder
	for _, n := range names {
		tools, err := k.offered(n)
		if err != nil {
			if n == agentdef.DefaultName {
				return "", err
			}
			continue
		}
		fmt.Fprintf(&b, "- %s: %s\n", n, orNone(tools))
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// relProduced links a plan.task or plan.answer outcome to the result or
// answer it produced.
const relProduced = "produced"

// planXref indexes a plan.task or plan.answer outcome: the event produced
// the result (a graph node), which lives in the task's session.
func planXref(r *round, e xref.ID, seq uint64, kind string, detail json.RawMessage) {
	var id, session string
	switch kind {
	case governance.KindPlanTask:
		var det governance.PlanTaskDetail
		if json.Unmarshal(detail, &det) != nil {
			return
		}
		id, session = det.Result, det.Session
	case governance.KindPlanAnswer:
		var det governance.PlanAnswerDetail
		if json.Unmarshal(detail, &det) != nil {
			return
		}
		id, session = det.Answer, det.Session
	}
	res, err := xref.ParseID(id)
	if err != nil {
		return // a failed task produced nothing
	}
	r.node(xref.Node{ID: res, Type: "graph.node"}, nil)
	r.link(e, relProduced, res, seq)
	if session != "" {
		r.link(res, relInSession, r.node(sessionNode(session)), seq)
	}
}
