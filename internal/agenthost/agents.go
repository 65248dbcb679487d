package agenthost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftos/weftos/internal/agent"
	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/session"
	"github.com/weftos/weftos/internal/tools"
)

// Kind is the process kind of LLM agents.
const Kind = "agent"

// Args are the spawn arguments of an agent process.
type Args struct {
	Agent     string `json:"agent"`
	Model     string `json:"model,omitempty"`
	Session   string `json:"session"`
	Workspace string `json:"workspace"`
	// Serve makes the process register its definition's services when it
	// starts: agents started with weave agent start (POST /v1/agent/start)
	// do, the agents of weft's conversations do not.
	Serve bool `json:"serve,omitempty"`
}

// Request is the payload a client sends an agent process: one user
// message, or a resume of an interrupted run.
type Request struct {
	Message string `json:"message,omitempty"`
	Resume  bool   `json:"resume,omitempty"`
	Reset   bool   `json:"reset,omitempty"`
	// Stream names the API Stream the run's output goes to (deltas, tool
	// calls, approvals); empty for requests with no client watching.
	Stream string `json:"stream,omitempty"`
	// MaxTurns, when set, is this run's turn limit (RunRequest.MaxTurns).
	MaxTurns int `json:"max_turns,omitempty"`
}

// Reply is the agent's answer to an Request.
type Reply struct {
	Answer string    `json:"answer"`
	Usage  llm.Usage `json:"usage"`
	Turns  int       `json:"turns"`
	// ModelMicros is the time spent waiting for the model.
	ModelMicros int64  `json:"model_us"`
	Error       string `json:"error,omitempty"`
	Code        string `json:"code,omitempty"`
	// AnswerID is the answer's universal id when it was linked to the
	// memories recalled for it (ECC's Act mode).
	AnswerID string `json:"answer_id,omitempty"`
}

// KindFunc is the kernel's KindFunc of "agent" processes; ctx bounds the
// look-up of a default model when a spawn names none (the daemon passes
// its background context, which ends at Close).
func (h *Host) KindFunc(ctx context.Context) kernel.KindFunc {
	return func(args json.RawMessage) (kernel.Handler, error) { return h.newAgent(ctx, args) }
}

func (h *Host) newAgent(ctx context.Context, args json.RawMessage) (kernel.Handler, error) {
	var a Args
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, fmt.Errorf("%w: agent args: %v", kernel.ErrInvalid, err)
	}
	if a.Session == "" || a.Workspace == "" {
		return nil, fmt.Errorf("%w: an agent needs a session and a workspace", kernel.ErrInvalid)
	}
	def, err := h.FindAgent(a.Agent, a.Workspace)
	if err != nil {
		return nil, err
	}
	model := a.Model
	if model == "" {
		model = def.Model
	}
	// Fail the spawn, not the first turn, when no provider can serve it.
	model, err = h.checkModel(ctx, model)
	if err != nil {
		return nil, err
	}
	return &agentProc{h: h, args: a, def: def, model: model}, nil
}

// checkModel resolves model — or, when empty, agents.model, or the one
// provider's default (defaultModel) — and reports whether it names a
// configured provider.
func (h *Host) checkModel(ctx context.Context, model string) (string, error) {
	if model == "" {
		model = h.agents.Model
	}
	if h.models == nil || h.models.Len() == 0 {
		return "", llm.ErrNoProvider
	}
	if model == "" {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		var err error
		if model, err = h.defaultModel(ctx); err != nil {
			return "", err
		}
	}
	_, _, err := h.models.Resolve(model)
	return model, err
}

// FindAgent returns the named definition from the workspace's or the
// home's agents/ directory, or the built-in default for "" or "default".
func (h *Host) FindAgent(name, workspace string) (agentdef.Definition, error) {
	if name == "" || name == agentdef.DefaultName {
		def, err := agentdef.Find(agentdef.DefaultName, workspace, h.home)
		if err == nil {
			return def, nil
		}
		return agentdef.Default(), nil
	}
	def, err := agentdef.Find(name, workspace, h.home)
	if err != nil || h.prepare == nil {
		return def, err
	}
	return h.prepare(def) // an app's agent: its settings in its prompt
}

// Caps turns a definition's requested capabilities into the kernel's.
func (h *Host) Caps(def agentdef.Definition) (kernel.Capabilities, error) {
	c := def.Capabilities
	caps := kernel.Capabilities{CanSpawn: c.CanSpawn, CanIPC: c.CanIPC, CanExecTools: c.CanExecTools, CanNetwork: c.CanNetwork,
		Tools:   kernel.ToolPolicy{Allow: c.ToolsAllow, Deny: c.ToolsDeny},
		Sandbox: kernel.SandboxPolicy{Shell: c.Shell, Network: c.CanNetwork},
		Limits: kernel.Limits{ToolCalls: c.Limits.ToolCalls, Messages: c.Limits.Messages, Tokens: c.Limits.Tokens,
			CPUTime: c.Limits.CPUTime, MemoryBytes: c.Limits.MemoryMiB << 20}}
	if caps.Limits.Tokens == 0 {
		caps.Limits.Tokens = h.agents.Tokens
	}
	if len(caps.Tools.Allow) == 0 {
		// No explicit allow list: the tools the definition names, or all.
		caps.Tools.Allow = def.Tools
		if len(def.Tools) == 0 {
			caps.Tools.Allow = []string{"*"}
		}
	}
	caps.Memory = kernel.MemoryScope(c.Memory)
	if caps.Memory == "" {
		caps.Memory = kernel.MemoryOwn
	}
	scope := c.IPCScope
	if scope == "" {
		scope = "parent"
	}
	sc, err := kernel.ParseScope(scope)
	if err != nil {
		return kernel.Capabilities{}, err
	}
	caps.IPCScope = sc
	return caps, nil
}

// agentProc is an agent process: it answers each Request with one run
// of the agent loop, journaling every completed step in its session.
type agentProc struct {
	h       *Host
	args    Args
	def     agentdef.Definition
	model   string
	journal *sessionJournal // open while the process runs; only Run's goroutine uses it
	waited  atomic.Int64    // time spent in providers, for ModelMicros
	// The system prompt of the last turn, reused while it is the same:
	// built once for an agent without skills, whose prompt cannot change;
	// rebuilt every turn (skills are read again) for one with skills.
	// Only Run's goroutine uses it.
	system string
}

// systemPrompt returns the agent's system prompt for a turn: the same
// string as the last turn's when its text has not changed, so that what
// compares it (the prompt hasher, the model client's encodings) finds it
// equal at once.
func (a *agentProc) systemPrompt() string {
	if a.system != "" && len(a.def.Skills) == 0 {
		return a.system
	}
	if s := a.h.systemPrompt(a.def, a.args.Workspace); s != a.system {
		a.system = s
	}
	return a.system
}

// Inspect implements kernel.Inspector.
func (a *agentProc) Inspect() any {
	return map[string]any{"agent": a.def.Name, "model": a.model, "session": a.args.Session, "workspace": a.args.Workspace}
}

func (a *agentProc) Run(ctx context.Context, p *kernel.Process) error {
	policy := a.h.ToolPolicy(p.Capabilities())
	env, err := tools.OpenEnv(a.args.Workspace, policy, kernelTools{h: a.h, p: p, args: a.args})
	if err != nil {
		return err
	}
	defer env.Close()
	runner, err := a.h.NewToolRunner(ctx, p, env, a.def, a.args.Session)
	if err != nil {
		return err
	}
	defer runner.CloseMCP()
	model, modelName, err := a.h.agentModel(p, a.args.Session, a.model, &a.waited)
	if err != nil {
		return err
	}
	defer func() {
		if a.journal != nil {
			_ = a.journal.Close()
		}
	}()
	if a.args.Serve {
		if err := a.serve(ctx, p); err != nil {
			return err
		}
	}
	for {
		msg, err := p.Receive(ctx)
		if err != nil {
			return err
		}
		if msg.Payload.Kind == kernel.PayloadSignal && msg.Payload.Signal == kernel.SignalShutdown {
			return nil
		}
		var req Request
		switch msg.Payload.Kind {
		case kernel.PayloadText:
			req.Message = msg.Payload.Text
		case kernel.PayloadJSON:
			if err := json.Unmarshal(msg.Payload.JSON, &req); err != nil {
				a.reply(ctx, p, msg, Reply{Error: "bad request: " + err.Error(), Code: "invalid_argument"})
				continue
			}
		default:
			continue
		}
		rep := a.turn(ctx, p, runner, model, modelName, req)
		if msg.ReplyTo {
			a.reply(ctx, p, msg, rep)
		}
		if rep.Code == "limit_reached" {
			return &kernel.ExitError{Code: kernel.ExitLimit, Reason: rep.Error}
		}
	}
}

// serve registers the definition's services as the process's own, each a
// governed act (service.register, decided for the agent). An agent that
// cannot serve them does not run: its restart, if it is supervised,
// registers them again under its new PID.
func (a *agentProc) serve(ctx context.Context, p *kernel.Process) error {
	for _, s := range a.def.Services {
		spec := kernel.ServiceSpec{Name: s.Name, Type: Kind, Owner: p.PID(), Methods: s.Methods, Idempotent: s.Idempotent, Endpoint: "agent:" + a.def.Name}
		if _, err := p.Kernel().RegisterServiceAs(ctx, p.PID(), spec); err != nil {
			return &kernel.ExitError{Code: kernel.ExitError1, Reason: fmt.Sprintf("service %s: %v", s.Name, err)}
		}
	}
	return nil
}

func (a *agentProc) reply(ctx context.Context, p *kernel.Process, req *kernel.Envelope, rep Reply) {
	b, _ := json.Marshal(rep)
	if err := p.Reply(ctx, req, kernel.JSONPayload(b)); err != nil {
		a.h.log.Warn("agent reply undeliverable", "pid", p.PID(), "err", err)
	}
}

// turn runs the agent loop once for req. Its output goes to the request's
// Stream, if a client watches; the client going away cancels the turn.
func (a *agentProc) turn(ctx context.Context, p *kernel.Process, runner *ToolRunner, model agent.Model, modelName string, req Request) Reply {
	s := a.h.streams.get(req.Stream)
	if s != nil {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(WithStream(ctx, s))
		defer cancel(nil)
		done := ctx.Done() // ctx is reassigned below
		go func() {
			select {
			case <-s.gone:
				cancel(s.why())
			case <-done:
			}
		}()
	}
	// Model replies and recalls are recorded with the turn's next decision;
	// whatever is still carried is written before the turn answers.
	carry := a.h.auth.NewCarry()
	ctx = WithCarry(ctx, carry)
	defer func() {
		if err := carry.Flush(ctx); err != nil {
			a.h.log.Error("recording the end of an agent turn", "session", a.args.Session, "err", err)
		}
	}()
	if a.journal == nil {
		// The session stays open (and locked) for the process's lifetime,
		// so a turn pays no open or replay cost.
		j, err := a.h.openJournal(a.args.Session)
		if err != nil {
			return Reply{Error: err.Error(), Code: "session"}
		}
		a.journal = j
	}
	journal := a.journal
	if req.Reset {
		// The conversation starts afresh; the journal keeps what came
		// before (deleting a session is session.remove, a governed act).
		if _, err := journal.s.Append(ctx, session.Reset("operator")); err != nil {
			return Reply{Error: err.Error(), Code: "session"}
		}
		return Reply{}
	}
	history, done, interrupted := journal.history()
	switch {
	case req.Message == "" && !req.Resume:
		return Reply{Error: "empty message", Code: "invalid_argument"}
	case req.Resume && !interrupted:
		return Reply{Error: fmt.Sprintf("session %q has no interrupted run to resume", a.args.Session), Code: "invalid_argument"}
	case !req.Resume && interrupted:
		return Reply{Error: fmt.Sprintf("session %q has an interrupted run: resume it (weft agent --session %s --resume) or clear it (/reset)", a.args.Session, a.args.Session), Code: "interrupted"}
	}
	cfg := agent.Config{Model: modelName, System: a.systemPrompt(), MaxTurns: maxTurns(req.MaxTurns, a.def.MaxTurns, a.h.agents.MaxTurns),
		ContextTokens: a.h.agents.ContextTokens, RepeatLimit: a.h.agents.RepeatLimit}
	used := &recalled{}
	if k := a.h.recallK; k > 0 {
		cfg.Recall = func(ctx context.Context, q string) []string {
			texts, ids := a.h.recall(ctx, p, a.def.Name, a.args.Session, q, k)
			used.add(ids)
			return texts
		}
	}
	turn := 0
	deps := agent.Deps{Model: countTurns{model, &turn}, Tools: runner, Journal: journal, Meter: p}
	if s != nil {
		deps.OnText = func(text string) {
			_ = s.send(ctx, apitype.RunEvent{Type: apitype.RunDelta, Turn: turn, Text: text})
		}
	}
	before := a.waited.Load()
	res, err := agent.Run(ctx, cfg, deps, history, req.Message, done)
	rep := Reply{Answer: res.Answer, Usage: res.Usage, Turns: res.Turns, ModelMicros: time.Duration(a.waited.Load() - before).Microseconds()}
	if err == nil && res.Answer != "" {
		rep.AnswerID = a.h.linkAnswer(ctx, p, a.args.Session, res.Answer, used.get())
	}
	if err != nil {
		rep.Error, rep.Code = err.Error(), agentErrorCode(err)
		switch {
		case ctx.Err() == nil:
			journal.fail(ctx, rep.Code, rep.Error)
		case errors.Is(context.Cause(ctx), ErrClientGone):
			// Cancelled by its user (Ctrl-C): the session records it, so
			// the next message starts afresh instead of finding an
			// interrupted run. A shutdown, like a crash, records nothing:
			// the run is resumable.
			rep.Code = "cancelled"
			journal.fail(context.WithoutCancel(ctx), rep.Code, ErrClientGone.Error())
		default:
			// The process was stopped or killed mid-run, or the node is
			// shutting down. As after a crash, nothing is journaled: the
			// run is resumable, and the error says how.
			rep.Code = "stopped"
			rep.Error = fmt.Sprintf("agent process %d was stopped before it answered; the run is resumable: weft agent --session %s --resume", p.PID(), a.args.Session)
		}
	}
	return rep
}

// maxTurns is a run's turn limit: the request's (`weft agent
// --max-turns`) when it sets one, else the definition's when it sets one,
// else agents.max_turns from weftos.toml, else the built-in default.
func maxTurns(request, definition, config int) int {
	for _, n := range [...]int{request, definition, config} {
		if n > 0 {
			return n
		}
	}
	return agentdef.DefaultMaxTurns
}

// countTurns numbers the model calls of a run, so Stream deltas say which
// call they belong to.
type countTurns struct {
	agent.Model
	n *int
}

func (c countTurns) Chat(ctx context.Context, req *llm.Request, onDelta func(llm.Delta)) (*llm.Response, error) {
	*c.n++
	return c.Model.Chat(ctx, req, onDelta)
}

func agentErrorCode(err error) string {
	switch {
	case errors.Is(err, agent.ErrLoopGuard):
		return "loop_guard"
	case errors.Is(err, agent.ErrMaxTurns):
		return "max_turns"
	case errors.Is(err, agent.ErrBudget), errors.Is(err, kernel.ErrLimit):
		return "limit_reached"
	case errors.Is(err, llm.ErrAuth):
		return "model_auth"
	case errors.Is(err, llm.ErrUnavailable), errors.Is(err, llm.ErrRateLimited):
		return "model_unavailable"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, authority.ErrLedger):
		return "chain_unavailable"
	case errors.Is(err, authority.ErrRefused), errors.Is(err, kernel.ErrDenied), errors.Is(err, kernel.ErrCapability):
		return "denied"
	}
	return "agent_error"
}

// systemPrompt is the definition's prompt plus the workspace and skills.
func (h *Host) systemPrompt(def agentdef.Definition, workspace string) string {
	var b strings.Builder
	b.WriteString(def.SystemPrompt)
	fmt.Fprintf(&b, "\n\nThe workspace is %s; file tools take paths relative to it.", workspace)
	if s := h.skillsPrompt(def, workspace); s != "" {
		b.WriteString("\n\n")
		b.WriteString(s)
	}
	return b.String()
}

// kernelTools gives spawn_agent and send_message the calling process's
// authority: children are spawned with it as parent (capabilities
// attenuated, the spawn gated) and sends are checked against its IPC scope.
type kernelTools struct {
	h    *Host
	p    *kernel.Process
	args Args
}

// spawnArgs are what the spawn_agent tool passes for kind "agent".
type spawnArgs struct {
	Agent string `json:"agent"`
	Task  string `json:"task"`
}

func (kt kernelTools) Spawn(ctx context.Context, name, kind string, args json.RawMessage) (uint64, error) {
	if kind != Kind {
		pid, err := kt.h.kernel.Spawn(ctx, kernel.SpawnSpec{Name: name, Kind: kind, Args: args, Parent: kt.p.PID(), InheritCaps: true})
		return uint64(pid), err
	}
	var sa spawnArgs
	if len(args) > 0 {
		if err := json.Unmarshal(args, &sa); err != nil {
			return 0, fmt.Errorf("%w: spawn_agent args: %v", kernel.ErrInvalid, err)
		}
	}
	def, err := kt.h.FindAgent(sa.Agent, kt.args.Workspace)
	if err != nil {
		return 0, err
	}
	if err := kt.h.ApproveDefinition(ctx, def, kt.args.Workspace, subjectOf(kt.p, kt.args.Session)); err != nil {
		return 0, err
	}
	caps, err := kt.h.Caps(def)
	if err != nil {
		return 0, err
	}
	// A child never holds a capability its parent lacks: the definition's
	// booleans are narrowed to the parent's (scopes, tools and limits
	// beyond the parent's are still refused by the kernel).
	pc := kt.p.Capabilities()
	caps.CanSpawn = caps.CanSpawn && pc.CanSpawn
	caps.CanIPC = caps.CanIPC && pc.CanIPC
	caps.CanExecTools = caps.CanExecTools && pc.CanExecTools
	caps.CanNetwork = caps.CanNetwork && pc.CanNetwork
	caps.Sandbox.Shell = caps.Sandbox.Shell && pc.Sandbox.Shell
	caps.Sandbox.Network = caps.Sandbox.Network && pc.Sandbox.Network
	child := Args{Agent: def.Name, Model: kt.args.Model, Workspace: kt.args.Workspace,
		Session: fmt.Sprintf("%s.%s-%d", kt.args.Session, name, time.Now().UnixNano()%1_000_000)}
	if !validSessionName(child.Session) {
		return 0, fmt.Errorf("%w: agent name %q cannot name a session", kernel.ErrInvalid, name)
	}
	b, _ := json.Marshal(child)
	pid, err := kt.h.kernel.Spawn(ctx, kernel.SpawnSpec{Name: name, Kind: Kind, Args: b, Parent: kt.p.PID(), Caps: caps})
	if err != nil {
		return 0, err
	}
	if sa.Task != "" {
		// The task is part of the spawn: the kernel delivers it.
		if _, err := kt.h.kernel.Send(ctx, &kernel.Envelope{From: kernel.KernelPID, Target: kernel.ToProcess(pid), Payload: kernel.Text(sa.Task)}); err != nil {
			return uint64(pid), fmt.Errorf("agent %d started but its task was not delivered: %w", pid, err)
		}
	}
	return uint64(pid), nil
}

func (kt kernelTools) Send(ctx context.Context, to uint64, text string) error {
	return kt.p.Send(ctx, kernel.ToProcess(kernel.PID(to)), kernel.Text(text))
}

// ToolPolicy is the tool environment's policy for a process with caps.
func (h *Host) ToolPolicy(caps kernel.Capabilities) tools.Policy {
	return tools.Policy{
		Shell: tools.ShellPolicy{Enabled: caps.Sandbox.Shell, Allow: h.agents.ShellAllow,
			Confine: tools.ConfineMode(h.agents.ShellConfinement), Network: caps.CanNetwork},
		Network: tools.NetworkPolicy{Enabled: caps.CanNetwork},
		// Control files (agent definitions, skills, tool manifests,
		// configuration) are the operator's; the home, with the node's
		// keys, is out of every agent tool's reach.
		Protected: tools.DefaultProtected,
		Forbidden: []string{h.home},
	}
}

// recalled collects the memory records recalled during one agent run.
type recalled struct {
	mu  sync.Mutex
	ids []string
}

func (r *recalled) add(ids []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if !slices.Contains(r.ids, id) {
			r.ids = append(r.ids, id)
		}
	}
}

func (r *recalled) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

// OpenEnv opens the tool environment of process p working for args: its
// workspace under the process's tool policy, with spawn_agent and
// send_message acting with the process's authority.
func (h *Host) OpenEnv(p *kernel.Process, args Args) (*tools.Env, error) {
	return tools.OpenEnv(args.Workspace, h.ToolPolicy(p.Capabilities()), kernelTools{h: h, p: p, args: args})
}
