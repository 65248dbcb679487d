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
	"github.com/weftos/weftos/internal/agenthost"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/localapi"
)

// RunRequest and RunEvent are the wire types of POST /v1/agent/run.
type (
	RunRequest = apitype.RunRequest
	RunEvent   = apitype.RunEvent
)

// agentSessions maps a session to the live agent process serving it, and
// keeps what the idle reaper needs: runs in flight and last use.
type agentSessions struct {
	mu       sync.Mutex
	pids     map[string]kernel.PID
	inUse    map[string]int
	lastUsed map[string]time.Time
}

// begin marks a run of session in flight.
func (a *agentSessions) begin(session string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inUse == nil {
		a.inUse, a.lastUsed = map[string]int{}, map[string]time.Time{}
	}
	a.inUse[session]++
}

// end marks a run of session finished at now and reports whether no other
// run of it is in flight.
func (a *agentSessions) end(session string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inUse[session]--
	a.lastUsed[session] = now
	if a.inUse[session] > 0 {
		return false
	}
	delete(a.inUse, session)
	return true
}

// idle returns the sessions whose agent has had no run in flight since
// before cutoff, and forgets them.
func (a *agentSessions) idle(cutoff time.Time) map[string]kernel.PID {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]kernel.PID{}
	for s, pid := range a.pids {
		if a.inUse[s] == 0 && a.lastUsed[s].Before(cutoff) {
			out[s] = pid
			delete(a.pids, s)
			delete(a.lastUsed, s)
		}
	}
	return out
}

// stopSessionAgent stops session's agent process, if it has one, once it
// has released the session.
func (d *Daemon) stopSessionAgent(ctx context.Context, session string) {
	d.agents.mu.Lock()
	pid, ok := d.agents.pids[session]
	delete(d.agents.pids, session)
	d.agents.mu.Unlock()
	if ok {
		d.stopAgent(ctx, pid)
	}
}

// reapIdleAgents stops session agents idle for longer than
// agents.idle_timeout, checking every quarter of it.
func (d *Daemon) reapIdleAgents(ctx context.Context) {
	idle := d.cfg.Agents.IdleTimeout.Duration
	if idle <= 0 {
		return
	}
	for {
		tick := make(chan struct{})
		t := d.opts.Clock.AfterFunc(idle/4, func() { close(tick) })
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-tick:
		}
		d.mcp.ReapIdle(ctx, d.opts.Clock.Now().Add(-idle))
		for session, pid := range d.agents.idle(d.opts.Clock.Now().Add(-idle)) {
			d.log.Info("stopping an idle session agent", "session", session, "pid", pid, "idle_timeout", idle)
			d.stopAgent(ctx, pid)
		}
	}
}

// sessionAgent returns the running agent process of the session, spawning
// one (kind "agent", child of the kernel) when there is none. Approving a
// workspace definition may wait for a human; the session table is not
// locked meanwhile.
func (d *Daemon) sessionAgent(ctx context.Context, req RunRequest) (kernel.PID, error) {
	if pid, ok := d.liveSessionAgent(ctx, req); ok {
		return pid, nil
	}
	def, err := d.agenthost.FindAgent(req.Agent, req.Workspace)
	if err != nil {
		return 0, err
	}
	if err := d.agenthost.ApproveDefinition(ctx, def, req.Workspace, operator()); err != nil {
		return 0, err
	}
	caps, err := d.agenthost.Caps(def)
	if err != nil {
		return 0, err
	}
	d.agents.mu.Lock()
	defer d.agents.mu.Unlock()
	if pid, ok := d.agents.pids[req.Session]; ok && d.matches(pid, req) {
		return pid, nil // another request started it meanwhile
	}
	args, _ := json.Marshal(agenthost.Args{Agent: def.Name, Model: req.Model, Session: req.Session, Workspace: req.Workspace})
	name := def.Name + "@" + req.Session
	pid, err := d.kernel.Spawn(ctx, kernel.SpawnSpec{Name: name, Kind: agenthost.Kind, Args: args, Parent: kernel.KernelPID, Caps: caps})
	if err != nil {
		return 0, err
	}
	if d.agents.pids == nil {
		d.agents.pids = map[string]kernel.PID{}
	}
	d.agents.pids[req.Session] = pid
	return pid, nil
}

// liveSessionAgent returns the session's agent if it runs with the
// request's agent, model and workspace; one that does not match is stopped
// (once it has let go of the session).
func (d *Daemon) liveSessionAgent(ctx context.Context, req RunRequest) (kernel.PID, bool) {
	d.agents.mu.Lock()
	defer d.agents.mu.Unlock()
	pid, ok := d.agents.pids[req.Session]
	if !ok {
		return 0, false
	}
	if d.matches(pid, req) {
		return pid, true
	}
	if in, err := d.kernel.Inspect(pid); err == nil && in.State != kernel.StateExited {
		d.stopAgent(ctx, pid)
	}
	delete(d.agents.pids, req.Session)
	return 0, false
}

// matches reports whether pid is a live agent serving req's agent, model
// and workspace.
func (d *Daemon) matches(pid kernel.PID, req RunRequest) bool {
	in, err := d.kernel.Inspect(pid)
	if err != nil || in.State == kernel.StateExited || in.State == kernel.StateStopping {
		return false
	}
	var det map[string]any
	b, _ := json.Marshal(in.Detail)
	_ = json.Unmarshal(b, &det)
	return det["workspace"] == req.Workspace && (req.Model == "" || det["model"] == req.Model) && (req.Agent == "" || det["agent"] == req.Agent)
}

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

// runAgent runs one agent turn of req (validated) and hands its events to
// emit, in order, with backpressure: the stream goes straight from the
// agent process to emit (not over kernel IPC, not onto the chain); the
// request itself is kernel IPC to the session's agent process, naming the
// stream by id. It returns an error only when the session's agent could
// not be had; later failures are RunError events. An emit that fails (the
// client went away) cancels the run.
func (d *Daemon) runAgent(ctx context.Context, req RunRequest, emit func(RunEvent) error) error {
	s := d.agenthost.OpenStream()
	defer d.agenthost.DropStream(s)
	defer s.Close()
	d.agents.begin(req.Session)
	defer func() {
		if last := d.agents.end(req.Session, d.opts.Clock.Now()); last && req.Once {
			// A one-shot run: its agent process does not linger.
			d.stopSessionAgent(context.WithoutCancel(ctx), req.Session)
		}
	}()
	// Spawning the session's agent may wait for an approval (a workspace
	// definition asking for more than the operator's default): the client
	// hears about it on the stream.
	type spawned struct {
		pid kernel.PID
		err error
	}
	sp := make(chan spawned, 1)
	go func() {
		pid, err := d.sessionAgent(agenthost.WithStream(ctx, s), req)
		sp <- spawned{pid, err}
	}()
	var pid kernel.PID
	for pid == 0 {
		select {
		case ev := <-s.Events():
			if emit(ev) != nil {
				return nil
			}
		case res := <-sp:
			if res.err != nil {
				return res.err
			}
			pid = res.pid
		}
	}
	if emit(RunEvent{Type: apitype.RunStart, PID: uint64(pid)}) != nil {
		return nil
	}
	body, _ := json.Marshal(agenthost.Request{Message: req.Message, Resume: req.Resume, Reset: req.Reset, Stream: s.ID()})
	type result struct {
		env *kernel.Envelope
		err error
	}
	done := make(chan result, 1)
	go func() {
		env, err := d.kernel.Request(ctx, &kernel.Envelope{From: kernel.KernelPID, Target: kernel.ToProcess(pid), Payload: kernel.JSONPayload(body)})
		done <- result{env, err}
	}()
	for {
		select {
		case ev := <-s.Events():
			if emit(ev) != nil {
				return nil // the client went away: the deferred close cancels the run
			}
		case <-d.closing:
			// The node is shutting down: cancel the run (the journal
			// keeps what completed; --resume finishes it) and say so.
			s.CloseWith(agenthost.ErrShuttingDown)
			_ = emit(RunEvent{Type: apitype.RunError, Code: "shutting_down", Message: "the daemon is shutting down; resume the run later with --resume"})
			return nil
		case res := <-done:
			// Every event the run sent before replying is in the channel.
			for drained := false; !drained; {
				select {
				case ev := <-s.Events():
					if emit(ev) != nil {
						return nil
					}
				default:
					drained = true
				}
			}
			if res.err != nil {
				_ = emit(RunEvent{Type: apitype.RunError, Code: kernel.Code(res.err), Message: res.err.Error()})
				return nil
			}
			var rep agenthost.Reply
			if err := json.Unmarshal(res.env.Payload.JSON, &rep); err != nil {
				_ = emit(RunEvent{Type: apitype.RunError, Code: "internal", Message: "bad agent reply: " + err.Error()})
				return nil
			}
			if rep.Error != "" {
				_ = emit(RunEvent{Type: apitype.RunError, Code: rep.Code, Message: rep.Error, Answer: rep.Answer, Usage: rep.Usage, Turns: rep.Turns})
				return nil
			}
			_ = emit(RunEvent{Type: apitype.RunFinal, PID: uint64(pid), Answer: rep.Answer, Usage: rep.Usage, Turns: rep.Turns, AnswerID: rep.AnswerID})
			return nil
		}
	}
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
