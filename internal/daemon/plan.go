//go:build !nollm

package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/agenthost"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/planhost"
)

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
	case req.Workers < 0 || req.Workers > planhost.MaxWorkers:
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("workers %d: want 1 to %d", req.Workers, planhost.MaxWorkers))
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

// planAgents runs a plan's agent turns on the node's agents.
type planAgents struct{ d *Daemon }

// planLinker adds a plan's derived_from edges as ecc.link acts.
type planLinker struct{ d *Daemon }

// What the plan host is handed.
var (
	_ planhost.Agents    = planAgents{}
	_ planhost.Linker    = planLinker{}
	_ planhost.Catalog   = (*agenthost.Host)(nil)
	_ planhost.Authority = (*authority.Pipeline)(nil)
)

func (a planAgents) RunTurn(ctx context.Context, req apitype.RunRequest, emit func(apitype.RunEvent) error) error {
	return a.d.runAgent(ctx, req, emit)
}

func (a planAgents) StopSession(ctx context.Context, session string) {
	a.d.stopSessionAgent(ctx, session)
}

func (l planLinker) LinkEdge(ctx context.Context, subject authority.Subject, e causal.Edge) error {
	_, err := l.d.linkEdge(ctx, subject, e)
	return err
}

// runPlan runs one plan (internal/planhost) to its end and emits its
// events, the last one final or error.
func (d *Daemon) runPlan(ctx context.Context, req apitype.PlanRequest, emit func(apitype.PlanEvent)) {
	planhost.New(planhost.Options{Home: d.home, Auth: d.auth, Agents: planAgents{d}, Linker: planLinker{d}, Catalog: d.agenthost,
		Clock: d.opts.Clock, Code: d.codeOf}).Run(ctx, req, emit)
}
