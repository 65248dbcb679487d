//go:build !nollm

package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/session"
)

// RunRequest and RunEvent are the wire types of POST /v1/agent/run.
type (
	RunRequest = apitype.RunRequest
	RunEvent   = apitype.RunEvent
)

// handleAgentRun runs one agent turn and streams it as JSON lines. The
// stream goes straight from the agent process to this handler (not over
// kernel IPC, not onto the chain); the request itself is kernel IPC to the
// session's agent process, naming the stream by id.
func (d *Daemon) handleAgentRun(w http.ResponseWriter, r *http.Request) {
	var req RunRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	if req.Session == "" {
		req.Session = "default"
	}
	if err := session.CheckName(req.Session); err != nil {
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", err.Error())
		return
	}
	if req.Workspace == "" {
		req.Workspace = d.cfg.Agents.Workspace
	}
	if req.Workspace == "" || !filepath.IsAbs(req.Workspace) {
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", "the workspace must be an absolute path")
		return
	}
	if req.MaxTurns < 0 || req.MaxTurns > agentdef.MaxMaxTurns {
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("max_turns %d is outside 1..%d (0: the agent's or the config's)", req.MaxTurns, agentdef.MaxMaxTurns))
		return
	}
	if req.Agent != "" && req.Agent != agentdef.DefaultName && !agentdef.ValidName(req.Agent) {
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("agent name %q is not valid", req.Agent))
		return
	}
	fl, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	started := false
	emit := func(ev RunEvent) error {
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			started = true
		}
		if err := enc.Encode(ev); err != nil {
			return err
		}
		if fl != nil {
			fl.Flush()
		}
		return nil
	}
	if err := d.runAgent(r.Context(), req, emit); err != nil {
		if !started {
			d.fail(w, err)
		} else {
			_ = emit(RunEvent{Type: apitype.RunError, Code: d.codeOf(err), Message: err.Error()})
		}
	}
}

// runAgent runs one agent turn of req (validated), its events handed to
// emit (agenthost.Host.Run): the HTTP handler's, the gateway's, the plan
// host's and MCP sessions' path to an agent.
func (d *Daemon) runAgent(ctx context.Context, req RunRequest, emit func(RunEvent) error) error {
	return d.agenthost.Run(ctx, req, emit)
}

// stopSessionAgent stops session's agent process, if it has one.
func (d *Daemon) stopSessionAgent(ctx context.Context, session string) {
	d.agenthost.StopSessionAgent(ctx, session)
}

// codeOf is the API error code of err.
func (d *Daemon) codeOf(err error) string {
	if code, _, ok := d.errorCode(err); ok {
		return code
	}
	return kernel.Code(err)
}

// handleModels lists the models of one provider (?provider=) or of all:
// a provider that fails does not hide the others' models; it is listed
// under problems.
func (d *Daemon) handleModels(w http.ResponseWriter, r *http.Request) {
	if d.models == nil || d.models.Len() == 0 {
		d.fail(w, llm.ErrNoProvider)
		return
	}
	names := d.models.Names()
	if p := r.URL.Query().Get("provider"); p != "" {
		if _, ok := d.models.Provider(p); !ok {
			localapi.WriteError(w, http.StatusNotFound, apitype.CodeNoProvider, fmt.Sprintf("no provider %q (configured: %v)", p, names))
			return
		}
		names = []string{p}
	}
	def := d.cfg.Agents.Model
	if def == "" {
		def, _ = d.defaultModel(r.Context())
	}
	out := apitype.ModelsResponse{Models: []apitype.Model{}}
	type answer struct {
		models []llm.Model
		err    error
	}
	answers := make([]answer, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() {
			p, _ := d.models.Provider(n)
			ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
			defer cancel()
			answers[i].models, answers[i].err = p.Models(ctx)
		})
	}
	wg.Wait()
	for i, n := range names {
		if err := answers[i].err; err != nil {
			out.Problems = append(out.Problems, apitype.ProviderProblem{Provider: n, Code: apitype.CodeModelUnavailable, Message: err.Error()})
			continue
		}
		for _, m := range answers[i].models {
			prov := m.Provider
			if prov == "" {
				prov = n
			}
			out.Models = append(out.Models, apitype.Model{ID: m.ID, Provider: prov, DisplayName: m.DisplayName, OwnedBy: m.OwnedBy,
				Created: m.Created, Default: def == prov+"/"+m.ID})
		}
	}
	localapi.WriteJSON(w, out)
}
