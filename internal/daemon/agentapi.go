package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/localapi"
)

// RunRequest is the body of POST /v1/agent/run.
type RunRequest struct {
	Agent     string `json:"agent,omitempty"`
	Model     string `json:"model,omitempty"`
	Session   string `json:"session"`
	Workspace string `json:"workspace"`
	Message   string `json:"message,omitempty"`
	Resume    bool   `json:"resume,omitempty"`
	Reset     bool   `json:"reset,omitempty"`
}

// RunEvent is one line of the /v1/agent/run stream: "start" (with the
// agent's PID), "delta" (answer text as it streams), then "final" or
// "error".
type RunEvent struct {
	Type    string    `json:"type"`
	PID     uint64    `json:"pid,omitempty"`
	Text    string    `json:"text,omitempty"`
	Answer  string    `json:"answer,omitempty"`
	Usage   llm.Usage `json:"usage,omitzero"`
	Turns   int       `json:"turns,omitempty"`
	Code    string    `json:"code,omitempty"`
	Message string    `json:"message,omitempty"`
}

// agentSessions maps a session to the live agent process serving it.
type agentSessions struct {
	mu   sync.Mutex
	pids map[string]kernel.PID
}

// sessionAgent returns the running agent process of the session, spawning
// one (kind "agent", child of the kernel) when there is none.
func (d *Daemon) sessionAgent(ctx context.Context, req RunRequest) (kernel.PID, error) {
	d.agents.mu.Lock()
	defer d.agents.mu.Unlock()
	if d.agents.pids == nil {
		d.agents.pids = map[string]kernel.PID{}
	}
	if pid, ok := d.agents.pids[req.Session]; ok {
		if in, err := d.kernel.Inspect(pid); err == nil && in.State != kernel.StateExited && in.State != kernel.StateStopping {
			var det map[string]any
			b, _ := json.Marshal(in.Detail)
			_ = json.Unmarshal(b, &det)
			if det["workspace"] == req.Workspace && (req.Model == "" || det["model"] == req.Model) && (req.Agent == "" || det["agent"] == req.Agent) {
				return pid, nil
			}
			// A different agent, model or workspace: start afresh, once the
			// old process has let go of the session.
			d.stopAgent(ctx, pid)
		}
	}
	def, err := d.findAgent(req.Agent, req.Workspace)
	if err != nil {
		return 0, err
	}
	caps, err := d.agentCaps(def)
	if err != nil {
		return 0, err
	}
	args, _ := json.Marshal(agentArgs{Agent: def.Name, Model: req.Model, Session: req.Session, Workspace: req.Workspace})
	name := def.Name + "@" + req.Session
	pid, err := d.kernel.Spawn(ctx, kernel.SpawnSpec{Name: name, Kind: AgentKind, Args: args, Parent: kernel.KernelPID, Caps: caps})
	if err != nil {
		return 0, err
	}
	d.agents.pids[req.Session] = pid
	return pid, nil
}

// handleAgentRun runs one agent turn and streams it as JSON lines.
func (d *Daemon) handleAgentRun(w http.ResponseWriter, r *http.Request) {
	var req RunRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	if req.Session == "" {
		req.Session = "default"
	}
	if !validSessionName(req.Session) {
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("session name %q: use letters, digits, '.', '_' and '-'", req.Session))
		return
	}
	if req.Workspace == "" {
		req.Workspace = d.cfg.Agents.Workspace
	}
	if req.Workspace == "" || !filepath.IsAbs(req.Workspace) {
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", "the workspace must be an absolute path")
		return
	}
	if req.Agent != "" && req.Agent != agentdef.DefaultName && !agentdef.ValidName(req.Agent) {
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("agent name %q is not valid", req.Agent))
		return
	}
	pid, err := d.sessionAgent(r.Context(), req)
	if err != nil {
		d.failAgent(w, err)
		return
	}
	fl, _ := w.(http.Flusher)
	deltas := make(chan string, 1024)
	cancel := d.kernel.SubscribeFunc(agentTopic(pid), func(e *kernel.Envelope) bool {
		select {
		case deltas <- e.Payload.Text:
			return true
		default:
			return false
		}
	})
	defer cancel()
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	emit := func(ev RunEvent) {
		_ = enc.Encode(ev)
		if fl != nil {
			fl.Flush()
		}
	}
	emit(RunEvent{Type: "start", PID: uint64(pid)})
	body, _ := json.Marshal(agentRequest{Message: req.Message, Resume: req.Resume, Reset: req.Reset})
	type result struct {
		env *kernel.Envelope
		err error
	}
	done := make(chan result, 1)
	go func() {
		env, err := d.kernel.Request(r.Context(), &kernel.Envelope{From: kernel.KernelPID, Target: kernel.ToProcess(pid), Payload: kernel.JSONPayload(body)})
		done <- result{env, err}
	}()
	for {
		select {
		case s := <-deltas:
			emit(RunEvent{Type: "delta", Text: s})
		case res := <-done:
			for drained := false; !drained; {
				select {
				case s := <-deltas:
					emit(RunEvent{Type: "delta", Text: s})
				default:
					drained = true
				}
			}
			if res.err != nil {
				emit(RunEvent{Type: "error", Code: kernel.Code(res.err), Message: res.err.Error()})
				return
			}
			var rep agentReply
			if err := json.Unmarshal(res.env.Payload.JSON, &rep); err != nil {
				emit(RunEvent{Type: "error", Code: "internal", Message: "bad agent reply: " + err.Error()})
				return
			}
			if rep.Error != "" {
				emit(RunEvent{Type: "error", Code: rep.Code, Message: rep.Error, Answer: rep.Answer, Usage: rep.Usage, Turns: rep.Turns})
				return
			}
			emit(RunEvent{Type: "final", PID: uint64(pid), Answer: rep.Answer, Usage: rep.Usage, Turns: rep.Turns})
			return
		}
	}
}

// failAgent maps agent start-up errors to API errors; a missing provider
// or model is "no_provider" so the CLI can exit 2 with the message.
func (d *Daemon) failAgent(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, llm.ErrNoProvider), errors.Is(err, ErrNoModel), errors.Is(err, llm.ErrUnknownProvider):
		localapi.WriteError(w, http.StatusServiceUnavailable, "no_provider", err.Error())
	case errors.Is(err, agentdef.ErrInvalid), errors.Is(err, agentdef.ErrNotFound):
		localapi.WriteError(w, http.StatusBadRequest, "invalid_agent", err.Error())
	default:
		d.fail(w, err)
	}
}

// handleModels lists the models of one provider (?provider=) or of all.
func (d *Daemon) handleModels(w http.ResponseWriter, r *http.Request) {
	if d.models == nil || d.models.Len() == 0 {
		d.failAgent(w, llm.ErrNoProvider)
		return
	}
	names := d.models.Names()
	if p := r.URL.Query().Get("provider"); p != "" {
		if _, ok := d.models.Provider(p); !ok {
			localapi.WriteError(w, http.StatusNotFound, "no_provider", fmt.Sprintf("no provider %q (configured: %v)", p, names))
			return
		}
		names = []string{p}
	}
	var out []llm.Model
	for _, n := range names {
		p, _ := d.models.Provider(n)
		ms, err := p.Models(r.Context())
		if err != nil {
			localapi.WriteError(w, http.StatusBadGateway, "model_unavailable", fmt.Sprintf("%s: %v", n, err))
			return
		}
		out = append(out, ms...)
	}
	localapi.WriteJSON(w, out)
}

// stopAgent stops an agent process and waits (up to its grace period) until
// it has exited and so released its session.
func (d *Daemon) stopAgent(ctx context.Context, pid kernel.PID) {
	if d.kernel.Stop(pid) != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Kernel.StopGrace.Duration+time.Second)
	defer cancel()
	_, _ = d.kernel.Wait(ctx, pid)
}
