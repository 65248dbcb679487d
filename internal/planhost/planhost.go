// Package planhost runs `weft plan` (ECC's Generate mode) on a node: the
// pure planner (internal/plan) proposes and schedules the tasks, and this
// host makes every step a governed act by the operator who asked — the
// plan adopted (plan.create, plan.replan) or refused, each task an
// ordinary agent turn in its own session (plan.task), the final answer the
// planner's last turn (plan.answer) — and links each result's universal id
// to the results and memories it derives from (ecc.link acts). What it
// needs of things the daemon owns (agent turns, the authority pipeline,
// the causal graph, the agent catalog) it declares as small interfaces.
package planhost

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/kernelauth"
	"github.com/weftos/weftos/internal/plan"
)

// MaxWorkers bounds a plan's parallelism.
const MaxWorkers = 32

// Agents runs the agent turns a plan is made of.
type Agents interface {
	// RunTurn runs one agent turn of req and hands its events to emit, in
	// order; it returns an error only when the session's agent could not
	// be had (later failures are RunError events).
	RunTurn(ctx context.Context, req apitype.RunRequest, emit func(apitype.RunEvent) error) error
	// StopSession stops the agent lingering in session, if there is one.
	StopSession(ctx context.Context, session string)
}

// Authority is the one pipeline every plan step passes through.
type Authority interface {
	Do(ctx context.Context, act authority.Act, run func(ctx context.Context, pm *authority.Permit) (detail any, err error)) error
	Refuse(ctx context.Context, act authority.Act, cause error) error
}

var _ Authority = (*authority.Pipeline)(nil)

// Linker adds a causal edge as a governed act (ecc.link) by subject.
type Linker interface {
	LinkEdge(ctx context.Context, subject authority.Subject, e causal.Edge) error
}

// Catalog knows the agent definitions a plan may name and the tools each
// is offered, as a run would offer them.
type Catalog interface {
	FindAgent(name, workspace string) (agentdef.Definition, error)
	Caps(def agentdef.Definition) (kernel.Capabilities, error)
	Offered(def agentdef.Definition, caps kernel.Capabilities) ([]string, error)
}

// CodeFunc is the API error code of an error.
type CodeFunc func(error) string

// Options configure New; all are required.
type Options struct {
	Home    string // the node's home (agent definitions of the home)
	Auth    Authority
	Agents  Agents
	Linker  Linker
	Catalog Catalog
	Clock   clock.Clock
	Code    CodeFunc
}

// Host runs plans.
type Host struct{ opts Options }

// New builds the plan host.
func New(opts Options) *Host { return &Host{opts: opts} }

// Run runs one plan of req (validated: a goal, an absolute workspace) to
// its end and emits its events, the last one final or error.
func (ph *Host) Run(ctx context.Context, req apitype.PlanRequest, emit func(apitype.PlanEvent)) {
	var b [4]byte
	_, _ = rand.Read(b[:])
	h := &host{Options: ph.opts, id: hex.EncodeToString(b[:]), req: req, emit: emit, results: map[string]string{}}
	h.subject = kernelauth.Operator()
	h.subject.Session = h.session("")
	// The planner's agent lingers between its turns; it goes at the end.
	defer h.Agents.StopSession(context.WithoutCancel(ctx), h.session(""))
	known := &known{catalog: h.Catalog, home: h.Home, workspace: req.Workspace, tools: map[string][]string{}}
	catalog, err := known.list()
	if err != nil {
		emit(apitype.PlanEvent{Type: apitype.PlanError, Plan: h.id, Code: h.Code(err), Message: err.Error()})
		return
	}
	g, err := plan.Generate(ctx, h, plan.Config{Goal: req.Goal, Catalog: catalog, Known: known, Workers: req.Workers, MaxReplans: req.MaxReplans,
		Clock: h.Clock, SessionOf: h.session, OnEvent: h.event})
	if err != nil {
		ev := apitype.PlanEvent{Type: apitype.PlanError, Plan: h.id, Code: h.Code(err), Message: err.Error(), Replans: g.Outcome.Replans}
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
