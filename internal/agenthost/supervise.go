package agenthost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/kernelauth"
	"github.com/weftos/weftos/internal/session"
)

// supervisorTable maps a supervisor's name (from agent definitions) to the
// supervisor process that started agents run under.
type supervisorTable struct {
	mu     sync.Mutex
	byName map[string]supervisorRec
}

type supervisorRec struct {
	pid  kernel.PID
	spec kernel.SupervisorSpec // with the defaults applied
}

// Supervisor returns the pid of the running supervisor called name that
// started agents run under, if there is one.
func (h *Host) Supervisor(name string) (kernel.PID, bool) {
	h.supervisors.mu.Lock()
	defer h.supervisors.mu.Unlock()
	rec, ok := h.supervisors.byName[name]
	return rec.pid, ok
}

// StopSupervisor forgets the supervisor called name and stops it (and
// with it every agent under it), waiting up to the stop grace period and
// extra for it to exit. A supervisor it never started is no error.
func (h *Host) StopSupervisor(ctx context.Context, name string, extra time.Duration) error {
	h.supervisors.mu.Lock()
	rec, ok := h.supervisors.byName[name]
	delete(h.supervisors.byName, name)
	h.supervisors.mu.Unlock()
	if !ok {
		return nil
	}
	var err error
	if cerr := h.kernel.Control(ctx, kernel.KernelPID, rec.pid, kernel.OpStop); cerr != nil && !errors.Is(cerr, kernel.ErrUnknownPID) {
		err = cerr
	}
	wctx, cancel := context.WithTimeout(ctx, h.stopGrace+extra)
	defer cancel()
	_, _ = h.kernel.Wait(wctx, rec.pid)
	return err
}

// StartAgent starts the agent req names (POST /v1/agent/start) as a
// process that registers its definition's services: StartDefinition for
// the definition found in req's workspace (agents.workspace when none).
func (h *Host) StartAgent(ctx context.Context, req apitype.AgentStartRequest) (apitype.AgentStartResponse, error) {
	if req.Agent == "" {
		return apitype.AgentStartResponse{}, fmt.Errorf("%w: name the agent to start (agents/NAME.yaml)", kernel.ErrInvalid)
	}
	workspace := req.Workspace
	if workspace == "" {
		workspace = h.agents.Workspace
	}
	if workspace == "" || !filepath.IsAbs(workspace) {
		return apitype.AgentStartResponse{}, fmt.Errorf("%w: the workspace must be an absolute path", kernel.ErrInvalid)
	}
	def, err := h.FindAgent(req.Agent, workspace)
	if err != nil {
		return apitype.AgentStartResponse{}, err
	}
	return h.StartDefinition(ctx, req, def, workspace)
}

// StartDefinition starts def (found for req) in workspace. A definition
// with a restart policy runs under its supervisor (started on first use,
// child of the kernel), which restarts it per the policy; otherwise the
// agent is a child of the kernel. Every step is governed: a workspace
// definition asking for more than the operator's default, the
// supervisor's and the agent's spawns, each service registration. The
// answer comes once the services are registered; an agent that exits
// before is not kept. An app's services start here too (the app sets
// their supervision).
func (h *Host) StartDefinition(ctx context.Context, req apitype.AgentStartRequest, def agentdef.Definition, workspace string) (apitype.AgentStartResponse, error) {
	sess := req.Session
	if sess == "" {
		sess = def.Name
	}
	if err := session.CheckName(sess); err != nil {
		return apitype.AgentStartResponse{}, fmt.Errorf("%w: %w", kernel.ErrInvalid, err)
	}
	for _, s := range def.Services {
		if owner, ok := ServiceOwner(h.kernel, s.Name); ok {
			return apitype.AgentStartResponse{}, fmt.Errorf("%w: agent %s serves %q, which process %d has registered", kernel.ErrServiceExists, def.Name, s.Name, owner)
		}
	}
	if err := h.ApproveDefinition(ctx, def, workspace, kernelauth.Operator()); err != nil {
		return apitype.AgentStartResponse{}, err
	}
	caps, err := h.Caps(def)
	if err != nil {
		return apitype.AgentStartResponse{}, err
	}
	args, _ := json.Marshal(Args{Agent: def.Name, Model: req.Model, Session: sess, Workspace: workspace, Serve: true})
	resp := apitype.AgentStartResponse{Name: def.Name + "@" + sess, Agent: def.Name, Session: sess}
	w := watchKernel(h.kernel)
	defer w.stop()
	var sup supervisorRec
	if def.Supervision == nil {
		resp.PID, err = h.kernel.Spawn(ctx, kernel.SpawnSpec{Name: resp.Name, Kind: Kind, Args: args, Parent: kernel.KernelPID, Caps: caps})
	} else {
		restart, perr := kernel.ParseRestartType(def.Supervision.Restart)
		if perr != nil {
			return resp, perr
		}
		if sup, err = h.supervisorFor(ctx, def); err != nil {
			return resp, err
		}
		resp.Supervisor, resp.SupervisorPID, resp.Restart = sup.spec.Name, sup.pid, restart.String()
		resp.PID, err = h.kernel.StartChild(ctx, sup.pid, kernel.ChildSpec{ID: resp.Name, Name: resp.Name, Kind: Kind, Args: args, Caps: caps, Restart: restart})
		if errors.Is(err, kernel.ErrChildSpecDuplicate) {
			err = fmt.Errorf("%w: agent %s already runs under supervisor %s (pid %d)", kernel.ErrChildSpecDuplicate, resp.Name, sup.spec.Name, sup.pid)
		}
	}
	if err != nil {
		return resp, err
	}
	if err := awaitServices(ctx, h.kernel, w, resp.PID, def.Services); err != nil {
		// Not serving: do not keep restarting it (and, through its
		// supervisor's budget, its siblings).
		if def.Supervision != nil {
			if running, rerr := h.kernel.RemoveChild(sup.pid, resp.Name); rerr == nil && running != 0 {
				_ = h.kernel.Control(context.WithoutCancel(ctx), kernel.KernelPID, running, kernel.OpStop)
			}
		}
		return resp, fmt.Errorf("agent %s (pid %d): %w", resp.Name, resp.PID, err)
	}
	for _, s := range def.Services {
		resp.Services = append(resp.Services, s.Name)
	}
	return resp, nil
}

// supervisorFor returns the running supervisor def names, starting it if
// it does not run. A definition that contradicts the running supervisor's
// strategy or restart budget is refused.
func (h *Host) supervisorFor(ctx context.Context, def agentdef.Definition) (supervisorRec, error) {
	s := def.Supervision
	name := s.Supervisor
	if name == "" {
		name = def.Name + ".sup"
	}
	strategy, err := kernel.ParseStrategy(s.Strategy)
	if err != nil {
		return supervisorRec{}, err
	}
	h.supervisors.mu.Lock()
	defer h.supervisors.mu.Unlock()
	if rec, ok := h.supervisors.byName[name]; ok {
		if in, err := h.kernel.Inspect(rec.pid); err == nil && in.State != kernel.StateExited && in.State != kernel.StateStopping {
			switch {
			case s.Strategy != "" && strategy != rec.spec.Strategy:
				return rec, fmt.Errorf("%w: agent %s asks supervisor %s for %s; it runs %s", kernel.ErrInvalid, def.Name, name, strategy, rec.spec.Strategy)
			case s.MaxRestarts != 0 && s.MaxRestarts != rec.spec.MaxRestarts, s.Window != 0 && s.Window != rec.spec.Window:
				return rec, fmt.Errorf("%w: agent %s asks supervisor %s for %d restarts in %s; it allows %d in %s", kernel.ErrInvalid,
					def.Name, name, s.MaxRestarts, s.Window, rec.spec.MaxRestarts, rec.spec.Window)
			}
			return rec, nil
		}
	}
	spec := kernel.SupervisorSpec{Name: name, Parent: kernel.KernelPID, Strategy: strategy, MaxRestarts: s.MaxRestarts, Window: s.Window}
	if spec.MaxRestarts == 0 {
		spec.MaxRestarts = 5
	}
	if spec.Window == 0 {
		spec.Window = 60 * time.Second
	}
	pid, err := h.kernel.StartSupervisor(ctx, spec)
	if err != nil {
		return supervisorRec{}, err
	}
	if h.supervisors.byName == nil {
		h.supervisors.byName = map[string]supervisorRec{}
	}
	rec := supervisorRec{pid: pid, spec: spec}
	h.supervisors.byName[name] = rec
	return rec, nil
}

// ServiceOwner returns the owner of the service called name, if any.
func ServiceOwner(k *kernel.Kernel, name string) (kernel.PID, bool) {
	for _, s := range k.Services() {
		if s.Name == name {
			return s.Owner, true
		}
	}
	return 0, false
}

// kernelWatch wakes a waiter on every service and process-exit event, so
// it re-checks its condition instead of polling.
type kernelWatch struct {
	wake  chan struct{}
	unsub func()
}

func watchKernel(k *kernel.Kernel) *kernelWatch {
	w := &kernelWatch{wake: make(chan struct{}, 1)}
	w.unsub = k.Bus().Subscribe(func(ev kernel.Event) {
		switch ev.Kind {
		case kernel.EventServiceRegister, kernel.EventServiceRemove, kernel.EventProcessExit:
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	})
	return w
}

func (w *kernelWatch) stop() { w.unsub() }

// awaitServices waits until pid has registered every service, failing if
// it exits first (with its exit reason) or ctx ends.
func awaitServices(ctx context.Context, k *kernel.Kernel, w *kernelWatch, pid kernel.PID, services []agentdef.Service) error {
	for {
		ready := true
		for _, s := range services {
			if owner, ok := ServiceOwner(k, s.Name); !ok || owner != pid {
				ready = false
				break
			}
		}
		if ready {
			return nil
		}
		if in, err := k.Inspect(pid); err != nil || in.State == kernel.StateExited {
			reason := "it is gone"
			if err == nil {
				reason = fmt.Sprintf("exit %d: %s", in.ExitCode, in.ExitReason)
			}
			return fmt.Errorf("%w: it exited before serving its services (%s)", kernel.ErrNotRunning, reason)
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
