package daemon

import (
	"context"
	"crypto/sha3"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/agent"
	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/session"
	"github.com/weftos/weftos/internal/tools"
)

// AgentKind is the process kind of LLM agents.
const AgentKind = "agent"

// agentArgs are the spawn arguments of an agent process.
type agentArgs struct {
	Agent     string `json:"agent"`
	Model     string `json:"model,omitempty"`
	Session   string `json:"session"`
	Workspace string `json:"workspace"`
}

// agentRequest is the payload a client sends an agent process: one user
// message, or a resume of an interrupted run.
type agentRequest struct {
	Message string `json:"message,omitempty"`
	Resume  bool   `json:"resume,omitempty"`
	Reset   bool   `json:"reset,omitempty"`
}

// agentReply is the agent's answer to an agentRequest.
type agentReply struct {
	Answer string    `json:"answer"`
	Usage  llm.Usage `json:"usage"`
	Turns  int       `json:"turns"`
	// ModelMicros is the time spent waiting for the model.
	ModelMicros int64  `json:"model_us"`
	Error       string `json:"error,omitempty"`
	Code        string `json:"code,omitempty"`
}

// agentTopic is where an agent publishes its streamed answer text.
func agentTopic(pid kernel.PID) string { return "agent." + pid.String() + ".stream" }

// newAgentKind is the KindFunc of "agent" processes.
func (d *Daemon) newAgentKind(args json.RawMessage) (kernel.Handler, error) {
	var a agentArgs
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, fmt.Errorf("%w: agent args: %v", kernel.ErrInvalid, err)
	}
	if a.Session == "" || a.Workspace == "" {
		return nil, fmt.Errorf("%w: an agent needs a session and a workspace", kernel.ErrInvalid)
	}
	def, err := d.findAgent(a.Agent, a.Workspace)
	if err != nil {
		return nil, err
	}
	model := a.Model
	if model == "" {
		model = def.Model
	}
	provider, modelName, err := d.resolveModel(model)
	if err != nil {
		return nil, err
	}
	return &agentProc{d: d, args: a, def: def, model: model, modelName: modelName, provider: provider}, nil
}

// findAgent returns the named definition from the workspace's or the
// home's agents/ directory, or the built-in default for "" or "default".
func (d *Daemon) findAgent(name, workspace string) (agentdef.Definition, error) {
	if name == "" || name == agentdef.DefaultName {
		def, err := agentdef.Find(agentdef.DefaultName, workspace, d.home)
		if err == nil {
			return def, nil
		}
		return agentdef.Default(), nil
	}
	return agentdef.Find(name, workspace, d.home)
}

// agentCaps turns a definition's requested capabilities into the kernel's.
func (d *Daemon) agentCaps(def agentdef.Definition) (kernel.Capabilities, error) {
	c := def.Capabilities
	caps := kernel.Capabilities{CanSpawn: c.CanSpawn, CanIPC: c.CanIPC, CanExecTools: c.CanExecTools, CanNetwork: c.CanNetwork,
		Tools:   kernel.ToolPolicy{Allow: c.ToolsAllow, Deny: c.ToolsDeny},
		Sandbox: kernel.SandboxPolicy{Shell: c.Shell, Network: c.CanNetwork},
		Limits: kernel.Limits{ToolCalls: c.Limits.ToolCalls, Messages: c.Limits.Messages, Tokens: c.Limits.Tokens,
			CPUTime: c.Limits.CPUTime, MemoryBytes: c.Limits.MemoryMiB << 20}}
	if caps.Limits.Tokens == 0 {
		caps.Limits.Tokens = d.cfg.Agents.Tokens
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

// agentProc is an agent process: it answers each agentRequest with one run
// of the agent loop, journaling every completed step in its session.
type agentProc struct {
	d         *Daemon
	args      agentArgs
	def       agentdef.Definition
	model     string
	modelName string
	provider  llm.Provider
	journal   *sessionJournal // open while the process runs; only Run's goroutine uses it
}

// Inspect implements kernel.Inspector.
func (a *agentProc) Inspect() any {
	return map[string]any{"agent": a.def.Name, "model": a.model, "session": a.args.Session, "workspace": a.args.Workspace}
}

func (a *agentProc) Run(ctx context.Context, p *kernel.Process) error {
	caps := p.Capabilities()
	policy := tools.Policy{
		Shell:   tools.ShellPolicy{Enabled: caps.Sandbox.Shell, Allow: a.d.cfg.Agents.ShellAllow},
		Network: tools.NetworkPolicy{Enabled: caps.CanNetwork},
	}
	env, err := tools.OpenEnv(a.args.Workspace, policy, kernelTools{d: a.d, p: p, args: a.args})
	if err != nil {
		return err
	}
	defer env.Close()
	runner, err := a.d.newToolRunner(p, env, a.def, a.args.Session)
	if err != nil {
		return err
	}
	defer func() {
		if a.journal != nil {
			_ = a.journal.Close()
		}
	}()
	for {
		msg, err := p.Receive(ctx)
		if err != nil {
			return err
		}
		if msg.Payload.Kind == kernel.PayloadSignal && msg.Payload.Signal == kernel.SignalShutdown {
			return nil
		}
		var req agentRequest
		switch msg.Payload.Kind {
		case kernel.PayloadText:
			req.Message = msg.Payload.Text
		case kernel.PayloadJSON:
			if err := json.Unmarshal(msg.Payload.JSON, &req); err != nil {
				a.reply(ctx, p, msg, agentReply{Error: "bad request: " + err.Error(), Code: "invalid_argument"})
				continue
			}
		default:
			continue
		}
		rep := a.turn(ctx, p, runner, req)
		if msg.ReplyTo {
			a.reply(ctx, p, msg, rep)
		}
		if rep.Code == "limit_reached" {
			return &kernel.ExitError{Code: kernel.ExitLimit, Reason: rep.Error}
		}
	}
}

func (a *agentProc) reply(ctx context.Context, p *kernel.Process, req *kernel.Envelope, rep agentReply) {
	b, _ := json.Marshal(rep)
	if err := p.Reply(ctx, req, kernel.JSONPayload(b)); err != nil {
		a.d.log.Warn("agent reply undeliverable", "pid", p.PID(), "err", err)
	}
}

// turn runs the agent loop once for req.
func (a *agentProc) turn(ctx context.Context, p *kernel.Process, runner *toolRunner, req agentRequest) agentReply {
	if req.Reset {
		if a.journal != nil {
			_ = a.journal.Close()
			a.journal = nil
		}
		if err := a.d.removeSession(a.args.Session); err != nil {
			return agentReply{Error: err.Error(), Code: "session"}
		}
		return agentReply{}
	}
	if a.journal == nil {
		// The session stays open (and locked) for the process's lifetime,
		// so a turn pays no open or replay cost.
		j, err := a.d.openJournal(a.args.Session)
		if err != nil {
			return agentReply{Error: err.Error(), Code: "session"}
		}
		a.journal = j
	}
	journal := a.journal
	history, done, interrupted := journal.history()
	switch {
	case req.Message == "" && !req.Resume:
		return agentReply{Error: "empty message", Code: "invalid_argument"}
	case req.Resume && !interrupted:
		return agentReply{Error: fmt.Sprintf("session %q has no interrupted run to resume", a.args.Session), Code: "invalid_argument"}
	case !req.Resume && interrupted:
		return agentReply{Error: fmt.Sprintf("session %q has an interrupted run: resume it (weft agent --session %s --resume) or clear it (/reset)", a.args.Session, a.args.Session), Code: "interrupted"}
	}
	topic := agentTopic(p.PID())
	cfg := agent.Config{Model: a.modelName, System: a.d.systemPrompt(a.def, a.args.Workspace), MaxTurns: a.def.MaxTurns,
		ContextTokens: a.d.cfg.Agents.ContextTokens, RepeatLimit: a.d.cfg.Agents.RepeatLimit}
	if cfg.MaxTurns == 0 {
		cfg.MaxTurns = a.d.cfg.Agents.MaxTurns
	}
	if k := a.d.cfg.Memory.Recall; k > 0 {
		scope := p.Capabilities().Memory
		cfg.Recall = func(ctx context.Context, q string) []string { return a.d.recall(ctx, a.def.Name, scope, q, k) }
	}
	deps := agent.Deps{Model: a.provider, Tools: runner, Journal: journal, Meter: p,
		Observer: llmObserver{d: a.d, p: p, session: a.args.Session},
		OnText: func(s string) {
			_, _ = a.d.kernel.Send(ctx, &kernel.Envelope{From: kernel.KernelPID, Target: kernel.ToTopic(topic), Payload: kernel.Text(s)})
		}}
	res, err := agent.Run(ctx, cfg, deps, history, req.Message, done)
	rep := agentReply{Answer: res.Answer, Usage: res.Usage, Turns: res.Turns, ModelMicros: res.ModelTime.Microseconds()}
	if err != nil {
		rep.Error, rep.Code = err.Error(), agentErrorCode(err)
		if ctx.Err() == nil {
			journal.fail(ctx, rep.Code, rep.Error)
		}
	}
	return rep
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
	}
	return "agent_error"
}

// systemPrompt is the definition's prompt plus the workspace and skills.
func (d *Daemon) systemPrompt(def agentdef.Definition, workspace string) string {
	var b strings.Builder
	b.WriteString(def.SystemPrompt)
	fmt.Fprintf(&b, "\n\nThe workspace is %s; file tools take paths relative to it.", workspace)
	if s := d.skillsPrompt(def, workspace); s != "" {
		b.WriteString("\n\n")
		b.WriteString(s)
	}
	return b.String()
}

// llmObserver records each model call on the chain: model, token counts
// and hashes of prompt and reply — never their content.
type llmObserver struct {
	d       *Daemon
	p       *kernel.Process
	session string
}

func (o llmObserver) LLMCall(ctx context.Context, c agent.LLMCall) {
	rec := struct {
		agent.LLMCall
		PID     kernel.PID `json:"pid"`
		Agent   string     `json:"agent"`
		Session string     `json:"session"`
	}{c, o.p.PID(), o.p.Name(), o.session}
	if err := o.d.recorder.Record(ctx, "agent", "llm.call", rec); err != nil {
		o.d.log.Error("recording an LLM call failed", "err", err)
	}
}

// toolRunner is the agent's ToolRunner: capability check, governance
// gate, execution and chain record, for every call.
type toolRunner struct {
	d       *Daemon
	p       *kernel.Process
	agent   string // the definition's name: memories are filed under it
	session string
	gate    *governance.Gate // judges paths against this agent's workspace
	env     *tools.Env
	reg     *tools.Registry
	specs   []llm.ToolSpec
}

var _ agent.ToolRunner = (*toolRunner)(nil)

func (d *Daemon) newToolRunner(p *kernel.Process, env *tools.Env, def agentdef.Definition, session string) (*toolRunner, error) {
	gate, err := d.gov.workspaceGate(env.Workspace())
	if err != nil {
		return nil, err
	}
	r := &toolRunner{d: d, p: p, env: env, reg: d.builtins, agent: def.Name, session: session, gate: gate}
	caps := p.Capabilities()
	if caps.Memory != kernel.MemoryNone && caps.CanExecTools {
		for _, spec := range []llm.ToolSpec{memoryStoreSpec, memorySearchSpec} {
			if (def.Tools == nil || contains(def.Tools, spec.Name)) && caps.Tools.Permits(spec.Name) {
				r.specs = append(r.specs, spec)
			}
		}
	}
	for _, t := range toolsFor(d.builtins, def, caps) {
		r.specs = append(r.specs, llm.ToolSpec{Name: t.Name(), Description: t.Description(), Parameters: t.Schema()})
	}
	// Installed WASM tools are offered like built-ins, under the same rules.
	installed, err := d.listTools()
	if err != nil {
		d.log.Warn("listing installed tools", "err", err)
	}
	for _, it := range installed {
		if def.Tools != nil && !contains(def.Tools, it.Name) {
			continue
		}
		if !caps.CanExecTools || !caps.Tools.Permits(it.Name) {
			continue
		}
		r.specs = append(r.specs, llm.ToolSpec{Name: it.Name, Description: it.Description + " (WASM tool " + it.Version + ")", Parameters: it.InputSchema})
	}
	return r, nil
}

// toolsFor lists the built-in tools the definition names (all when it
// names none) that the capabilities allow: a tool the process may not call
// is never offered to the model.
func toolsFor(reg *tools.Registry, def agentdef.Definition, caps kernel.Capabilities) []tools.Tool {
	var out []tools.Tool
	for _, t := range reg.List() {
		if def.Tools != nil && !contains(def.Tools, t.Name()) {
			continue
		}
		if !caps.CanExecTools || !caps.Tools.Permits(t.Name()) {
			continue
		}
		out = append(out, t)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (r *toolRunner) Specs() []llm.ToolSpec { return r.specs }

// toolCallRecord is the chain payload of a tool call.
type toolCallRecord struct {
	Action     string     `json:"action"`
	ActionID   string     `json:"action_id"`
	Agent      string     `json:"agent"`
	PID        kernel.PID `json:"pid"`
	Tool       string     `json:"tool"`
	CallID     string     `json:"call_id"`
	InputHash  string     `json:"input_hash"`
	OutputHash string     `json:"output_hash,omitempty"`
	Fuel       int64      `json:"fuel_used,omitempty"`
	IsError    bool       `json:"is_error,omitempty"`
	Error      string     `json:"error,omitempty"`
	Millis     int64      `json:"duration_ms"`
}

func (r *toolRunner) Run(ctx context.Context, call llm.ToolCall) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	if call.Name == memoryStoreSpec.Name || call.Name == memorySearchSpec.Name {
		out, isErr := r.d.runMemoryTool(ctx, r.p, r.agent, r.session, call)
		return out, isErr, ctx.Err()
	}
	if _, builtin := r.reg.Get(call.Name); !builtin {
		if _, err := r.d.toolRecord(call.Name); err == nil {
			res, err := r.d.runTool(ctx, r.p, call.Name, call.Arguments)
			if err != nil {
				if ctx.Err() != nil {
					return "", false, ctx.Err()
				}
				return err.Error(), true, nil
			}
			return string(res.Output), false, nil
		}
	}
	t, action, err := r.reg.Action(r.env, call.Name, call.Arguments)
	if err != nil {
		return err.Error(), true, nil
	}
	if err := r.p.ChargeToolCall(call.Name); err != nil {
		return "refused: " + err.Error(), true, nil
	}
	actionID := r.d.kernel.NewActionID()
	caps := r.p.Capabilities()
	req := governance.Request{Action: action.Name, Process: r.p.Name(), Agent: r.p.Name(), PID: uint64(r.p.PID()),
		Capabilities: caps.Names(), Context: governance.Context{Path: action.Path, Host: action.Host, Tool: action.Tool, Extra: action.Extra}}
	if err := r.d.gov.decideWith(ctx, r.gate, actionID, req); err != nil {
		if ctx.Err() != nil {
			return "", false, ctx.Err()
		}
		return "denied by governance: " + err.Error(), true, nil
	}
	start := time.Now()
	out, runErr := t.Run(ctx, r.env, call.Arguments)
	rec := toolCallRecord{Action: action.Name, ActionID: actionID, Agent: r.p.Name(), PID: r.p.PID(), Tool: call.Name, CallID: call.ID,
		InputHash: shake(call.Arguments), Millis: time.Since(start).Milliseconds()}
	result := string(out)
	if runErr != nil {
		rec.IsError, rec.Error = true, runErr.Error()
		result = runErr.Error()
	} else {
		rec.OutputHash = shake(out)
	}
	if err := r.d.recorder.Record(ctx, "agent", "tool.call", rec); err != nil {
		return "", false, fmt.Errorf("recording the tool call: %w", err)
	}
	if runErr != nil && ctx.Err() != nil {
		return "", false, ctx.Err()
	}
	return result, runErr != nil, nil
}

func shake(b []byte) string { return hex.EncodeToString(sha3.SumSHAKE256(b, 32)) }

// kernelTools gives spawn_agent and send_message the calling process's
// authority: children are spawned with it as parent (capabilities
// attenuated, the spawn gated) and sends are checked against its IPC scope.
type kernelTools struct {
	d    *Daemon
	p    *kernel.Process
	args agentArgs
}

// spawnArgs are what the spawn_agent tool passes for kind "agent".
type spawnArgs struct {
	Agent string `json:"agent"`
	Task  string `json:"task"`
}

func (kt kernelTools) Spawn(ctx context.Context, name, kind string, args json.RawMessage) (uint64, error) {
	if kind != AgentKind {
		pid, err := kt.d.kernel.Spawn(ctx, kernel.SpawnSpec{Name: name, Kind: kind, Args: args, Parent: kt.p.PID(), InheritCaps: true})
		return uint64(pid), err
	}
	var sa spawnArgs
	if len(args) > 0 {
		if err := json.Unmarshal(args, &sa); err != nil {
			return 0, fmt.Errorf("%w: spawn_agent args: %v", kernel.ErrInvalid, err)
		}
	}
	def, err := kt.d.findAgent(sa.Agent, kt.args.Workspace)
	if err != nil {
		return 0, err
	}
	caps, err := kt.d.agentCaps(def)
	if err != nil {
		return 0, err
	}
	child := agentArgs{Agent: def.Name, Model: kt.args.Model, Workspace: kt.args.Workspace,
		Session: fmt.Sprintf("%s.%s-%d", kt.args.Session, name, time.Now().UnixNano()%1_000_000)}
	if !validSessionName(child.Session) {
		return 0, fmt.Errorf("%w: agent name %q cannot name a session", kernel.ErrInvalid, name)
	}
	b, _ := json.Marshal(child)
	pid, err := kt.d.kernel.Spawn(ctx, kernel.SpawnSpec{Name: name, Kind: AgentKind, Args: b, Parent: kt.p.PID(), Caps: caps})
	if err != nil {
		return 0, err
	}
	if sa.Task != "" {
		// The task is part of the spawn: the kernel delivers it.
		if _, err := kt.d.kernel.Send(ctx, &kernel.Envelope{From: kernel.KernelPID, Target: kernel.ToProcess(pid), Payload: kernel.Text(sa.Task)}); err != nil {
			return uint64(pid), fmt.Errorf("agent %d started but its task was not delivered: %w", pid, err)
		}
	}
	return uint64(pid), nil
}

func (kt kernelTools) Send(ctx context.Context, to uint64, text string) error {
	return kt.p.Send(ctx, kernel.ToProcess(kernel.PID(to)), kernel.Text(text))
}

// validSessionName reports whether s can name a session directory.
func validSessionName(s string) bool { return session.ValidName(s) }
