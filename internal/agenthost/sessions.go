package agenthost

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/kernelauth"
)

// sessionTable maps a session to the live agent process serving it, and
// keeps what the idle reaper needs: runs in flight and last use.
type sessionTable struct {
	mu       sync.Mutex
	pids     map[string]kernel.PID
	inUse    map[string]int
	lastUsed map[string]time.Time
}

// begin marks a run of session in flight.
func (a *sessionTable) begin(session string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inUse == nil {
		a.inUse, a.lastUsed = map[string]int{}, map[string]time.Time{}
	}
	a.inUse[session]++
}

// end marks a run of session finished at now and reports whether no other
// run of it is in flight.
func (a *sessionTable) end(session string, now time.Time) bool {
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
func (a *sessionTable) idle(cutoff time.Time) map[string]kernel.PID {
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

// take forgets session's agent and returns it, if it has one.
func (a *sessionTable) take(session string) (kernel.PID, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	pid, ok := a.pids[session]
	delete(a.pids, session)
	return pid, ok
}

// BeginRun marks a run of session in flight: its agent is not reaped
// while it lasts (Run does this itself).
func (h *Host) BeginRun(session string) { h.sessions.begin(session) }

// EndRun marks a run of session finished at now and reports whether no
// other run of it is in flight.
func (h *Host) EndRun(session string, now time.Time) bool { return h.sessions.end(session, now) }

// StopSessionAgent stops session's agent process, if it has one, once it
// has released the session.
func (h *Host) StopSessionAgent(ctx context.Context, session string) {
	if pid, ok := h.sessions.take(session); ok {
		h.StopAgent(ctx, pid)
	}
}

// ReapIdle stops the session agents that have had no run in flight since
// before cutoff.
func (h *Host) ReapIdle(ctx context.Context, cutoff time.Time) {
	for session, pid := range h.sessions.idle(cutoff) {
		h.log.Info("stopping an idle session agent", "session", session, "pid", pid, "idle_timeout", h.agents.IdleTimeout.Duration)
		h.StopAgent(ctx, pid)
	}
}

// StopAgent stops an agent process and waits (up to its grace period)
// until it has exited and so released its session.
func (h *Host) StopAgent(ctx context.Context, pid kernel.PID) {
	if h.kernel.Stop(pid) != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, h.stopGrace+time.Second)
	defer cancel()
	_, _ = h.kernel.Wait(ctx, pid)
}

// SessionAgent returns the running agent process of the session, spawning
// one (kind "agent", child of the kernel) when there is none. Approving a
// workspace definition may wait for a human; the session table is not
// locked meanwhile.
func (h *Host) SessionAgent(ctx context.Context, req apitype.RunRequest) (kernel.PID, error) {
	if pid, ok := h.liveSessionAgent(ctx, req); ok {
		return pid, nil
	}
	def, err := h.FindAgent(req.Agent, req.Workspace)
	if err != nil {
		return 0, err
	}
	if err := h.ApproveDefinition(ctx, def, req.Workspace, kernelauth.Operator()); err != nil {
		return 0, err
	}
	caps, err := h.Caps(def)
	if err != nil {
		return 0, err
	}
	h.sessions.mu.Lock()
	defer h.sessions.mu.Unlock()
	if pid, ok := h.sessions.pids[req.Session]; ok && h.matches(pid, req) {
		return pid, nil // another request started it meanwhile
	}
	args, _ := json.Marshal(Args{Agent: def.Name, Model: req.Model, Session: req.Session, Workspace: req.Workspace})
	name := def.Name + "@" + req.Session
	pid, err := h.kernel.Spawn(ctx, kernel.SpawnSpec{Name: name, Kind: Kind, Args: args, Parent: kernel.KernelPID, Caps: caps})
	if err != nil {
		return 0, err
	}
	if h.sessions.pids == nil {
		h.sessions.pids = map[string]kernel.PID{}
	}
	h.sessions.pids[req.Session] = pid
	return pid, nil
}

// liveSessionAgent returns the session's agent if it runs with the
// request's agent, model and workspace; one that does not match is stopped
// (once it has let go of the session).
func (h *Host) liveSessionAgent(ctx context.Context, req apitype.RunRequest) (kernel.PID, bool) {
	h.sessions.mu.Lock()
	defer h.sessions.mu.Unlock()
	pid, ok := h.sessions.pids[req.Session]
	if !ok {
		return 0, false
	}
	if h.matches(pid, req) {
		return pid, true
	}
	if in, err := h.kernel.Inspect(pid); err == nil && in.State != kernel.StateExited {
		h.StopAgent(ctx, pid)
	}
	delete(h.sessions.pids, req.Session)
	return 0, false
}

// matches reports whether pid is a live agent serving req's agent, model
// and workspace.
func (h *Host) matches(pid kernel.PID, req apitype.RunRequest) bool {
	in, err := h.kernel.Inspect(pid)
	if err != nil || in.State == kernel.StateExited || in.State == kernel.StateStopping {
		return false
	}
	var det map[string]any
	b, _ := json.Marshal(in.Detail)
	_ = json.Unmarshal(b, &det)
	return det["workspace"] == req.Workspace && (req.Model == "" || det["model"] == req.Model) && (req.Agent == "" || det["agent"] == req.Agent)
}

// Run runs one agent turn of req (validated) and hands its events to
// emit, in order, with backpressure: the stream goes straight from the
// agent process to emit (not over kernel IPC, not onto the chain); the
// request itself is kernel IPC to the session's agent process, naming the
// stream by id. It returns an error only when the session's agent could
// not be had; later failures are RunError events. An emit that fails (the
// client went away) cancels the run; the node shutting down (Closing)
// cancels it with a shutting_down event.
func (h *Host) Run(ctx context.Context, req apitype.RunRequest, emit func(apitype.RunEvent) error) error {
	s := h.OpenStream()
	defer h.DropStream(s)
	defer s.Close()
	h.sessions.begin(req.Session)
	defer func() {
		if last := h.sessions.end(req.Session, h.now()); last && req.Once {
			// A one-shot run: its agent process does not linger.
			h.StopSessionAgent(context.WithoutCancel(ctx), req.Session)
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
		pid, err := h.SessionAgent(WithStream(ctx, s), req)
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
	if emit(apitype.RunEvent{Type: apitype.RunStart, PID: uint64(pid)}) != nil {
		return nil
	}
	body, _ := json.Marshal(Request{Message: req.Message, Resume: req.Resume, Reset: req.Reset, Stream: s.ID(), MaxTurns: req.MaxTurns})
	type result struct {
		env *kernel.Envelope
		err error
	}
	done := make(chan result, 1)
	go func() {
		// As long as the turn takes (a slow model, a tool, a human's
		// approval): the client going away or the node closing ends it.
		env, err := h.kernel.Await(ctx, &kernel.Envelope{From: kernel.KernelPID, Target: kernel.ToProcess(pid), Payload: kernel.JSONPayload(body)})
		done <- result{env, err}
	}()
	for {
		select {
		case ev := <-s.Events():
			if emit(ev) != nil {
				return nil // the client went away: the deferred close cancels the run
			}
		case <-h.closing:
			// The node is shutting down: cancel the run (the journal
			// keeps what completed; --resume finishes it) and say so.
			s.CloseWith(ErrShuttingDown)
			_ = emit(apitype.RunEvent{Type: apitype.RunError, Code: "shutting_down", Message: "the daemon is shutting down; resume the run later with --resume"})
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
				_ = emit(apitype.RunEvent{Type: apitype.RunError, Code: kernel.Code(res.err), Message: res.err.Error()})
				return nil
			}
			var rep Reply
			if err := json.Unmarshal(res.env.Payload.JSON, &rep); err != nil {
				_ = emit(apitype.RunEvent{Type: apitype.RunError, Code: "internal", Message: "bad agent reply: " + err.Error()})
				return nil
			}
			if rep.Error != "" {
				_ = emit(apitype.RunEvent{Type: apitype.RunError, Code: rep.Code, Message: rep.Error, Answer: rep.Answer, Usage: apitype.Usage(rep.Usage), Turns: rep.Turns})
				return nil
			}
			_ = emit(apitype.RunEvent{Type: apitype.RunFinal, PID: uint64(pid), Answer: rep.Answer, Usage: apitype.Usage(rep.Usage), Turns: rep.Turns, AnswerID: rep.AnswerID})
			return nil
		}
	}
}

// ReapIdleLoop stops session agents idle for longer than
// agents.idle_timeout, checking every quarter of it, until ctx ends; each
// of also (the MCP sessions' reaper) is handed the same cutoff first.
func (h *Host) ReapIdleLoop(ctx context.Context, also ...func(context.Context, time.Time)) {
	idle := h.agents.IdleTimeout.Duration
	if idle <= 0 {
		return
	}
	for {
		tick := make(chan struct{})
		t := h.clock.AfterFunc(idle/4, func() { close(tick) })
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-tick:
		}
		cutoff := h.now().Add(-idle)
		for _, f := range also {
			f(ctx, cutoff)
		}
		h.ReapIdle(ctx, cutoff)
	}
}
