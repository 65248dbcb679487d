package agenthost

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/clip"
	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/kernelauth"
	"github.com/weftos/weftos/internal/llm"
)

// MCPKind is the process kind of MCP tool sessions: a process holding an
// agent definition's capabilities, whose tool calls come from an MCP
// client (weave mcp serve, the gateway's /mcp) instead of a model.
const MCPKind = "mcp"

// AskAgentTool is the tool that asks an agent (agents as tools).
const AskAgentTool = "ask_agent"

// ErrUnknownMCPSession: no live MCP tool session has that id (stopped
// while idle, or never opened). It is the API's sentinel, so that clients
// in-process and over the socket recognise it alike.
var ErrUnknownMCPSession = apitype.ErrUnknownMCP

// RunFunc runs one agent turn of req and hands its events to emit, in
// order (the daemon's agent runs: session agent, stream, reply).
type RunFunc func(ctx context.Context, req apitype.RunRequest, emit func(apitype.RunEvent) error) error

// StopFunc stops a process and waits (up to its grace period) until it
// has exited.
type StopFunc func(ctx context.Context, pid kernel.PID)

// MCPOptions configure the MCP tool sessions.
type MCPOptions struct {
	Host *Host
	// Workspace is the default workspace of a session that names none.
	Workspace string
	Clock     clock.Clock
	// Run runs the turn an ask_agent call asks for; Stop ends a
	// session's process.
	Run  RunFunc
	Stop StopFunc
}

// MCPSessions are the live MCP tool sessions (weave mcp serve, the
// gateway's /mcp): each a process of kind MCPKind holding an agent
// definition's capabilities, whose tool calls come from an MCP client
// instead of a model and take the same governed, recorded path.
type MCPSessions struct {
	h     *Host
	opts  MCPOptions
	table mcpTable
}

// NewMCPSessions returns the session table; register its KindFunc under
// MCPKind before opening a session.
func NewMCPSessions(opts MCPOptions) *MCPSessions {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	return &MCPSessions{h: opts.Host, opts: opts}
}

var askAgentSpec = llm.ToolSpec{Name: AskAgentTool,
	Description: "Ask a WeftOS agent: it runs one turn (with its own tools, governed and recorded) and returns its answer.",
	Parameters:  json.RawMessage(`{"type":"object","properties":{"agent":{"type":"string","minLength":1,"description":"The agent's name (default: the default agent)."},"message":{"type":"string","minLength":1}},"required":["message"],"additionalProperties":false}`)}

// mcpArgs are the spawn arguments of an MCP tool session process.
type mcpArgs struct {
	Agent     string `json:"agent"`
	Session   string `json:"session"`
	Workspace string `json:"workspace"`
}

// mcpSession is one live MCP tool session.
type mcpSession struct {
	id        string
	agent     string
	workspace string
	// reach, when not nil, lists the agents ask_agent may ask (a gateway
	// token's agents); nil lets it ask any.
	reach []string

	ready chan struct{} // closed once runner is set, or the process failed
	p     *kernel.Process
	run   *ToolRunner
	err   error

	mu       sync.Mutex // one call at a time, like an agent's
	lastUsed time.Time  // guarded by mcpTable.mu
	inUse    int        // guarded by mcpTable.mu
	pid      kernel.PID
}

// mcpTable holds the live MCP tool sessions.
type mcpTable struct {
	mu       sync.Mutex
	sessions map[string]*mcpSession
}

func (t *mcpTable) get(id string) (*mcpSession, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.sessions[id]
	return s, ok
}

func (t *mcpTable) add(s *mcpSession) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sessions == nil {
		t.sessions = map[string]*mcpSession{}
	}
	t.sessions[s.id] = s
}

func (t *mcpTable) remove(id string) (*mcpSession, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.sessions[id]
	delete(t.sessions, id)
	return s, ok
}

// acquire marks a call of session id in flight.
func (t *mcpTable) acquire(id string) (*mcpSession, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.sessions[id]
	if ok {
		s.inUse++
	}
	return s, ok
}

func (t *mcpTable) release(s *mcpSession, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s.inUse--
	s.lastUsed = now
}

// idle removes and returns the sessions with no call in flight since
// before cutoff.
func (t *mcpTable) idle(cutoff time.Time) []*mcpSession {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*mcpSession
	for id, s := range t.sessions {
		if s.inUse == 0 && s.lastUsed.Before(cutoff) {
			out = append(out, s)
			delete(t.sessions, id)
		}
	}
	return out
}

// KindFunc is the kernel.KindFunc of MCP tool session processes.
func (m *MCPSessions) KindFunc(args json.RawMessage) (kernel.Handler, error) {
	var a mcpArgs
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, fmt.Errorf("%w: mcp args: %v", kernel.ErrInvalid, err)
	}
	s, ok := m.table.get(a.Session)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownMCPSession, a.Session)
	}
	def, err := m.h.FindAgent(a.Agent, a.Workspace)
	if err != nil {
		return nil, err
	}
	return &mcpProc{h: m.h, s: s, def: def}, nil
}

// mcpProc is the process of an MCP tool session: it holds the session's
// tool environment and runner while it runs; the API handlers call tools
// through them as this process.
type mcpProc struct {
	h   *Host
	s   *mcpSession
	def agentdef.Definition
}

// Inspect implements kernel.Inspector.
func (m *mcpProc) Inspect() any {
	return map[string]any{"agent": m.def.Name, "mcp_session": m.s.id, "workspace": m.s.workspace}
}

func (m *mcpProc) Run(ctx context.Context, p *kernel.Process) error {
	env, err := m.h.OpenEnv(p, Args{Agent: m.def.Name, Session: m.s.id, Workspace: m.s.workspace})
	if err != nil {
		m.s.err = err
		close(m.s.ready)
		return err
	}
	defer env.Close()
	runner, err := m.h.NewToolRunner(ctx, p, env, m.def, m.s.id)
	if err != nil {
		m.s.err = err
		close(m.s.ready)
		return err
	}
	defer runner.CloseMCP()
	m.s.p, m.s.run = p, runner
	close(m.s.ready)
	for {
		msg, err := p.Receive(ctx)
		if err != nil {
			return err
		}
		if msg.Payload.Kind == kernel.PayloadSignal && msg.Payload.Signal == kernel.SignalShutdown {
			// Wait for a call in flight: the environment closes after it.
			m.s.mu.Lock()
			defer m.s.mu.Unlock()
			return nil
		}
	}
}

// Open starts an MCP tool session: a process of kind "mcp",
// child of the kernel, with the agent definition's capabilities (a
// workspace definition asking for more than the default is approved first,
// like an agent's). reach limits ask_agent (nil: any agent).
func (m *MCPSessions) Open(ctx context.Context, req apitype.MCPSessionRequest, reach []string) (apitype.MCPSession, error) {
	if req.Workspace == "" {
		req.Workspace = m.opts.Workspace
	}
	if req.Workspace == "" || !filepath.IsAbs(req.Workspace) {
		return apitype.MCPSession{}, fmt.Errorf("%w: the workspace must be an absolute path", authority.ErrInput)
	}
	if req.Agent != "" && req.Agent != agentdef.DefaultName && !agentdef.ValidName(req.Agent) {
		return apitype.MCPSession{}, fmt.Errorf("%w: agent name %q is not valid", authority.ErrInput, req.Agent)
	}
	def, err := m.h.FindAgent(req.Agent, req.Workspace)
	if err != nil {
		return apitype.MCPSession{}, err
	}
	if err := m.h.ApproveDefinition(ctx, def, req.Workspace, kernelauth.Operator()); err != nil {
		return apitype.MCPSession{}, err
	}
	caps, err := m.h.Caps(def)
	if err != nil {
		return apitype.MCPSession{}, err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	s := &mcpSession{id: "mcp-" + hex.EncodeToString(rnd[:]), agent: def.Name, workspace: req.Workspace, reach: reach,
		ready: make(chan struct{}), lastUsed: m.opts.Clock.Now()}
	m.table.add(s)
	args, _ := json.Marshal(mcpArgs{Agent: def.Name, Session: s.id, Workspace: req.Workspace})
	name := "mcp:" + def.Name
	if l := strings.TrimSpace(req.Label); l != "" {
		name += "@" + clip.Ellipsis(l, 40)
	}
	pid, err := m.h.kernel.Spawn(ctx, kernel.SpawnSpec{Name: name, Kind: MCPKind, Args: args, Parent: kernel.KernelPID, Caps: caps})
	if err != nil {
		m.table.remove(s.id)
		return apitype.MCPSession{}, err
	}
	s.pid = pid
	select {
	case <-s.ready:
	case <-ctx.Done():
		m.End(context.WithoutCancel(ctx), s.id)
		return apitype.MCPSession{}, ctx.Err()
	}
	if s.err != nil {
		m.table.remove(s.id)
		return apitype.MCPSession{}, s.err
	}
	return apitype.MCPSession{ID: s.id, PID: uint64(pid), Agent: def.Name, Workspace: req.Workspace, Tools: s.tools()}, nil
}

// tools lists what the session offers: the runner's tools (those the
// capabilities allow) and ask_agent when the process may call it.
func (s *mcpSession) tools() []apitype.MCPTool {
	out := []apitype.MCPTool{}
	for _, sp := range s.run.Specs() {
		// MCP clients see MCP servers' tools as mcp.SERVER.TOOL.
		out = append(out, apitype.MCPTool{Name: s.run.Canonical(sp.Name), Description: sp.Description, InputSchema: schemaOrEmpty(sp.Parameters)})
	}
	caps := s.p.Capabilities()
	if caps.CanExecTools && caps.Tools.Permits(AskAgentTool) {
		out = append(out, apitype.MCPTool{Name: askAgentSpec.Name, Description: askAgentSpec.Description, InputSchema: askAgentSpec.Parameters})
	}
	return out
}

func schemaOrEmpty(s json.RawMessage) json.RawMessage {
	if len(s) == 0 {
		return json.RawMessage(`{"type":"object","properties":{}}`)
	}
	return s
}

// End stops a session's process; false if there is no session id.
func (m *MCPSessions) End(ctx context.Context, id string) bool {
	s, ok := m.table.remove(id)
	if !ok {
		return false
	}
	if s.pid != 0 {
		m.opts.Stop(ctx, s.pid)
	}
	return true
}

// ReapIdle stops the sessions idle since before cutoff (their clients
// went away without ending them).
func (m *MCPSessions) ReapIdle(ctx context.Context, cutoff time.Time) {
	for _, s := range m.table.idle(cutoff) {
		m.h.log.Info("stopping an idle MCP tool session", "session", s.id, "pid", s.pid)
		if s.pid != 0 {
			m.opts.Stop(ctx, s.pid)
		}
	}
}

// SessionsOf lists the ids of the live sessions of agent.
func (m *MCPSessions) SessionsOf(agent string) []string {
	m.table.mu.Lock()
	defer m.table.mu.Unlock()
	var ids []string
	for id, s := range m.table.sessions {
		if s.agent == agent {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// Call runs one tool call in a session, as its process: the same
// governed, recorded path as an agent's tool call. A refusal or a tool's
// failure is a result with IsError; a chain that cannot be written is an
// error.
func (m *MCPSessions) Call(ctx context.Context, id string, req apitype.MCPCallRequest) (apitype.MCPCallResult, error) {
	s, ok := m.table.acquire(id)
	if !ok {
		return apitype.MCPCallResult{}, fmt.Errorf("%w: %s", ErrUnknownMCPSession, id)
	}
	defer func() { m.table.release(s, m.opts.Clock.Now()) }()
	<-s.ready
	if s.err != nil {
		return apitype.MCPCallResult{}, s.err
	}
	if in, err := m.h.kernel.Inspect(s.pid); err != nil || in.State == kernel.StateExited || in.State == kernel.StateStopping {
		// Its process was stopped or killed: the session is over.
		m.table.remove(id)
		return apitype.MCPCallResult{}, fmt.Errorf("%w: %s (its process %d is gone)", ErrUnknownMCPSession, id, s.pid)
	}
	args := req.Arguments
	if len(args) == 0 || string(args) == "null" {
		args = json.RawMessage(`{}`)
	}
	callID := req.CallID
	if callID == "" {
		var rnd [6]byte
		_, _ = rand.Read(rnd[:])
		callID = "mcp_" + hex.EncodeToString(rnd[:])
	}
	call := llm.ToolCall{ID: callID, Name: req.Tool, Arguments: args}
	// Acts of one call share a carry, flushed before the answer.
	carry := m.h.auth.NewCarry()
	ctx = WithCarry(ctx, carry)
	var (
		out     string
		isErr   bool
		fatal   error
		failure error
	)
	if req.Tool == AskAgentTool && s.offers(AskAgentTool) {
		out, failure, fatal = m.askAgent(ctx, s, call)
		isErr = failure != nil
	} else {
		if !s.offers(req.Tool) {
			// Not offered to this session: refused, and recorded, like a
			// call the model makes to a tool it was not given.
			cause := fmt.Errorf("%w: tool %q is not offered to this session", authority.ErrCapability, req.Tool)
			act := authority.Act{Action: "tool.call", Subject: subjectOf(s.p, s.id), Carry: carry,
				Context: governance.Context{Tool: req.Tool, Extra: map[string]string{"input_hash": shake(args), "call_id": callID, "via": "mcp"}}}
			if err := m.h.auth.Refuse(ctx, act, cause); errors.Is(err, authority.ErrLedger) {
				return apitype.MCPCallResult{}, err
			}
			return apitype.MCPCallResult{Output: "refused: " + cause.Error(), IsError: true}, nil
		}
		s.mu.Lock()
		out, isErr, fatal = s.run.Run(ctx, call)
		s.mu.Unlock()
	}
	if err := carry.Flush(context.WithoutCancel(ctx)); err != nil && fatal == nil {
		fatal = err
	}
	if fatal != nil {
		return apitype.MCPCallResult{}, fatal
	}
	return apitype.MCPCallResult{Output: out, IsError: isErr}, nil
}

// offers reports whether the session offers tool.
func (s *mcpSession) offers(tool string) bool {
	return slices.ContainsFunc(s.tools(), func(t apitype.MCPTool) bool { return t.Name == tool })
}

// askAgent runs ask_agent: a tool.call act of the session's process
// (capabilities, tool-call limit, governance, both ends on the chain)
// around one run of the asked agent, which is governed as every agent
// run is (its model and tool calls are acts of its own process).
func (m *MCPSessions) askAgent(ctx context.Context, s *mcpSession, call llm.ToolCall) (out string, failure, fatal error) {
	var in struct {
		Agent   string `json:"agent"`
		Message string `json:"message"`
	}
	dec := json.NewDecoder(strings.NewReader(string(call.Arguments)))
	dec.DisallowUnknownFields()
	subject := subjectOf(s.p, s.id)
	extra := map[string]string{"input_hash": shake(call.Arguments), "call_id": call.ID, "via": "mcp"}
	decodeErr := dec.Decode(&in)
	switch {
	case decodeErr != nil:
	case strings.TrimSpace(in.Message) == "":
		decodeErr = errors.New("message is empty")
	case in.Agent != "" && in.Agent != agentdef.DefaultName && !agentdef.ValidName(in.Agent):
		decodeErr = fmt.Errorf("agent name %q is not valid", in.Agent)
	}
	if decodeErr != nil {
		cause := fmt.Errorf("%w: ask_agent: %w", authority.ErrInput, decodeErr)
		act := authority.Act{Action: "tool.call", Subject: subject, Carry: CarryFrom(ctx), Context: governance.Context{Tool: AskAgentTool, Extra: extra}}
		if err := m.h.auth.Refuse(ctx, act, cause); errors.Is(err, authority.ErrLedger) {
			return "", nil, err
		}
		return cause.Error(), cause, nil
	}
	target := in.Agent
	if target == "" {
		target = agentdef.DefaultName
	}
	extra["agent"] = target
	act := authority.Act{Action: "tool.exec." + AskAgentTool, Kind: governance.KindToolCall, Source: "agent", Subject: subject, Carry: CarryFrom(ctx),
		Context: governance.Context{Tool: AskAgentTool, Extra: extra},
		Checks: []authority.Check{
			func() error { return kernelErr(s.p.ChargeToolCall(AskAgentTool)) },
			func() error {
				if s.reach != nil && !slices.Contains(s.reach, target) {
					return fmt.Errorf("%w: agent %q is out of this session's reach", authority.ErrCapability, target)
				}
				return nil
			}}}
	pm, err := m.h.auth.Authorize(ctx, act)
	if err != nil {
		return Refusal(ctx, err)
	}
	// The asked agent runs in its own session, one per asking session and
	// agent, so a conversation through ask_agent keeps its context.
	req := apitype.RunRequest{Agent: in.Agent, Session: s.id + "." + target, Workspace: s.workspace, Message: in.Message}
	var answer string
	var runErr error
	err = m.opts.Run(ctx, req, func(ev apitype.RunEvent) error {
		switch ev.Type {
		case apitype.RunFinal:
			answer = ev.Answer
		case apitype.RunError:
			runErr = fmt.Errorf("agent %s: %s (%s)", target, ev.Message, ev.Code)
		}
		return nil
	})
	if err == nil {
		err = runErr
	}
	detail := governance.ToolCallDetail{Tool: AskAgentTool, CallID: call.ID, InputHash: shake(call.Arguments)}
	if err == nil {
		detail.OutputHash, detail.OutputLen = shake([]byte(answer)), len(answer)
	}
	if derr := pm.Done(ctx, detail, err); derr != nil {
		return "", nil, fmt.Errorf("recording the tool call: %w", derr)
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", nil, ctx.Err()
		}
		return err.Error(), err, nil
	}
	return answer, nil, nil
}
