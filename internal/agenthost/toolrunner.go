package agenthost

import (
	"context"
	"crypto/sha3"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weftos/weftos/internal/agent"
	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/clip"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/nodemetrics"
	"github.com/weftos/weftos/internal/toolhost"
	"github.com/weftos/weftos/internal/tools"
)

// ToolRunner is the agent's ToolRunner. Built-in, memory and WASM tools
// are ordinary tools behind the one authority pipeline: describe →
// capability and limit checks → governance → durable decision → run →
// durable outcome. A Refusal at any step is recorded too.
type ToolRunner struct {
	h        *Host
	p        *kernel.Process
	agent    string // the definition's name: memories are filed under it
	session  string
	gate     authority.Gate // judges paths against this agent's workspace (and the cluster's consensus)
	env      *tools.Env
	reg      *tools.Registry
	specs    []llm.ToolSpec
	mcpParts // MCP servers' tools (mcpclients.go; empty with nomcp)
}

var _ agent.ToolRunner = (*ToolRunner)(nil)

// NewToolRunner builds the tool runner of process p working in env for
// the definition def: the tools it offers the model and runs for it.
func (h *Host) NewToolRunner(ctx context.Context, p *kernel.Process, env *tools.Env, def agentdef.Definition, session string) (*ToolRunner, error) {
	gate, err := h.gates.WorkspaceGate(env.Workspace())
	if err != nil {
		return nil, err
	}
	r := &ToolRunner{h: h, p: p, env: env, reg: h.builtins, agent: def.Name, session: session, gate: gate}
	caps := p.Capabilities()
	if caps.Memory != kernel.MemoryNone && caps.CanExecTools {
		for _, spec := range memoryTools {
			if (def.Tools == nil || slices.Contains(def.Tools, spec.Name)) && caps.Tools.Permits(spec.Name) {
				r.specs = append(r.specs, spec)
			}
		}
	}
	for _, t := range ToolsFor(h.builtins, def, caps) {
		r.specs = append(r.specs, h.builtinSpec(t))
	}
	// Installed WASM tools are offered like built-ins, under the same rules.
	installed, err := h.toolhost.List()
	if err != nil {
		h.log.Warn("listing installed tools", "err", err)
	}
	for _, it := range installed {
		if def.Tools != nil && !slices.Contains(def.Tools, it.Name) {
			continue
		}
		if !caps.CanExecTools || !caps.Tools.Permits(it.Name) {
			continue
		}
		r.specs = append(r.specs, llm.ToolSpec{Name: it.Name, Description: it.Description + " (WASM tool " + it.Version + ")", Parameters: it.InputSchema})
	}
	r.connectMCP(ctx, def, caps)
	return r, nil
}

// ToolsFor lists the built-in tools the definition names (all when it
// names none) that the capabilities allow: a tool the process may not call
// is never offered to the model.
func ToolsFor(reg *tools.Registry, def agentdef.Definition, caps kernel.Capabilities) []tools.Tool {
	var out []tools.Tool
	for _, t := range reg.List() {
		if def.Tools != nil && !slices.Contains(def.Tools, t.Name()) {
			continue
		}
		if !caps.CanExecTools || !caps.Tools.Permits(t.Name()) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// builtinSpec is a built-in tool's spec, made once per host: every agent
// offering the tool shares its schema's bytes (read only, as the agent
// loop and the model clients treat a request's tools). A thousand agents
// then hold one copy, not one each, and the model client's and the
// prompt hash's comparisons of the tool lists read memory already in
// cache.
func (h *Host) builtinSpec(t tools.Tool) llm.ToolSpec {
	if s, ok := h.builtinSpecs.Load(t.Name()); ok {
		return s.(llm.ToolSpec)
	}
	s, _ := h.builtinSpecs.LoadOrStore(t.Name(), llm.ToolSpec{Name: t.Name(), Description: t.Description(), Parameters: t.Schema()})
	return s.(llm.ToolSpec)
}

// Specs returns the tools offered to the model; the caller must not change
// them (built-in specs are shared by every agent of the host).
func (r *ToolRunner) Specs() []llm.ToolSpec { return r.specs }

// Run runs one tool call and shows it to the run's client as it happens.
func (r *ToolRunner) Run(ctx context.Context, call llm.ToolCall) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	s := StreamFrom(ctx)
	if s != nil {
		_ = s.send(ctx, apitype.RunEvent{Type: apitype.RunToolCall, Tool: call.Name, CallID: call.ID, Args: clip.Ellipsis(string(call.Arguments), 200)})
	}
	t0 := time.Now()
	out, failure, err := r.run(ctx, call)
	outcome := nodemetrics.Classify(failure)
	if err != nil {
		outcome = nodemetrics.Classify(err)
	}
	r.h.ops.ToolCall(call.Name, outcome, time.Since(t0))
	isErr := failure != nil
	if s != nil && err == nil {
		ok := !isErr
		_ = s.send(ctx, apitype.RunEvent{Type: apitype.RunToolResult, Tool: call.Name, CallID: call.ID, OK: &ok, Summary: clip.Ellipsis(out, 200)})
	}
	return out, isErr, err
}

// Refusal turns an act's error into what the model sees (and the failure
// it stands for), or into a fatal error of the run: a cancelled context,
// or a chain that cannot be written (nothing may happen any more).
func Refusal(ctx context.Context, err error) (out string, failure, fatal error) {
	if ctx.Err() != nil {
		return "", nil, ctx.Err()
	}
	if errors.Is(err, authority.ErrLedger) {
		return "", nil, err
	}
	return "refused: " + err.Error(), err, nil
}

// run runs one call. out is what the model sees; failure, when not nil,
// is why the call failed (out then says so to the model); fatal ends the
// run.
func (r *ToolRunner) run(ctx context.Context, call llm.ToolCall) (out string, failure, fatal error) {
	if out, failure, fatal, ok := r.memoryTool(ctx, call); ok {
		return out, failure, fatal
	}
	if out, failure, fatal, ok := r.mcpCall(ctx, call); ok {
		return out, failure, fatal
	}
	subject := subjectOf(r.p, r.session)
	if _, builtin := r.reg.Get(call.Name); !builtin {
		if _, err := r.h.toolhost.Record(call.Name); err == nil {
			res, err := r.h.toolhost.Run(ctx, toolhost.Caller{Proc: r.p, Session: r.session, CallID: call.ID, Carry: CarryFrom(ctx)}, call.Name, call.Arguments)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, authority.ErrLedger) {
					return Refusal(ctx, err)
				}
				return err.Error(), err, nil
			}
			return string(res.Output), nil, nil
		}
	}
	t, action, err := r.reg.Action(r.env, call.Name, call.Arguments)
	if err != nil {
		// The call cannot even be described (unknown tool, invalid
		// input, a path outside the workspace): refused, and recorded.
		act := authority.Act{Action: "tool.call", Subject: subject, Carry: CarryFrom(ctx), Context: governance.Context{Tool: call.Name,
			Extra: map[string]string{"input_hash": shake(call.Arguments), "call_id": call.ID}}}
		cause := fmt.Errorf("%w: %w", authority.ErrInput, err)
		if rerr := r.h.auth.Refuse(ctx, act, cause); errors.Is(rerr, authority.ErrLedger) {
			return "", nil, rerr
		}
		return err.Error(), cause, nil
	}
	act := authority.Act{Action: action.Name, Kind: governance.KindToolCall, Source: "agent", Subject: subject, Gate: r.gate, Carry: CarryFrom(ctx),
		Context: governance.Context{Path: action.Path, Host: action.Host, Tool: action.Tool, Extra: action.Extra},
		Checks:  []authority.Check{func() error { return kernelErr(r.p.ChargeToolCall(call.Name)) }}}
	pm, err := r.h.auth.Authorize(ctx, act)
	if err != nil {
		return Refusal(ctx, err)
	}
	res, runErr := t.Run(ctx, r.env, call.Arguments)
	detail := governance.ToolCallDetail{Tool: call.Name, CallID: call.ID, InputHash: shake(call.Arguments)}
	result := string(res)
	if runErr != nil {
		result = runErr.Error()
	} else {
		detail.OutputHash, detail.OutputLen = shake(res), len(res)
	}
	if err := pm.Done(ctx, detail, runErr); err != nil {
		return "", nil, fmt.Errorf("recording the tool call: %w", err)
	}
	if runErr != nil && ctx.Err() != nil {
		return "", nil, ctx.Err()
	}
	return result, runErr, nil
}

// shake is the hex SHAKE-256 (32 bytes) of b, with one allocation.
func shake(b []byte) string {
	var h sha3.SHAKE // SHAKE-256
	h.Write(b)
	var sum [32]byte
	_, _ = h.Read(sum[:])
	return hexString(sum)
}
