//go:build !nomcp && !nollm

package agenthost

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/clip"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/mcpclient"
	"github.com/weftos/weftos/internal/tools"
)

// MCPToolPrefix starts the names of MCP servers' tools as agents see
// them: mcp.SERVER.TOOL.
const MCPToolPrefix = "mcp."

// mcpParts are the MCP servers' tools (mcp.SERVER.TOOL) a tool runner
// offers and the connections behind them, closed by CloseMCP when the
// process ends.
type mcpParts struct {
	mcpTools map[string]mcpTool
	mcpModel map[string]string // model-facing name → mcp.SERVER.TOOL
	mcpConns []*mcpclient.Conn
}

// mcpCall runs call when it names an MCP server's tool (ok).
func (r *ToolRunner) mcpCall(ctx context.Context, call llm.ToolCall) (out string, failure, fatal error, ok bool) {
	t, ok := r.mcpTools[r.Canonical(call.Name)]
	if !ok {
		return "", nil, nil, false
	}
	call.Name = r.Canonical(call.Name)
	out, failure, fatal = r.runMCP(ctx, call, t)
	return out, failure, fatal, true
}

// mcpTool is one MCP server tool offered to an agent.
type mcpTool struct {
	conn *mcpclient.Conn
	tool string // as the server names it
	host string // the server's host, for URL servers
}

// modelToolName is what model providers accept as a function name.
var modelToolName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Canonical returns the tool name a model-facing name stands for
// (mcp__SERVER__TOOL → mcp.SERVER.TOOL); other names are their own.
func (r *ToolRunner) Canonical(name string) string {
	if c, ok := r.mcpModel[name]; ok {
		return c
	}
	return name
}

// mcpDialTimeout bounds starting a server and listing its tools.
const mcpDialTimeout = 20 * time.Second

// connectMCP connects the definition's MCP servers for a process with
// caps and offers their tools (those the definition names, when it names
// tools, and the capabilities allow) as mcp.SERVER.TOOL. Stdio servers run
// confined like shell_exec programs; URL servers need can_network. A
// server that cannot be reached is left out (and logged): the agent runs
// without its tools.
func (r *ToolRunner) connectMCP(ctx context.Context, def agentdef.Definition, caps kernel.Capabilities) {
	if !caps.CanExecTools {
		return
	}
	pol := r.h.ToolPolicy(caps)
	for _, s := range def.MCPServers {
		host := ""
		if s.URL != "" {
			if !caps.CanNetwork {
				r.h.log.Info("MCP server left out: the agent lacks can_network", "agent", def.Name, "server", s.Name)
				continue
			}
			if u, err := url.Parse(s.URL); err == nil {
				host = u.Hostname()
			}
		}
		dctx, cancel := context.WithTimeout(ctx, mcpDialTimeout)
		conn, err := mcpclient.Dial(dctx, mcpclient.Server{Name: s.Name, Command: s.Command, Args: s.Args, Env: s.Env, URL: s.URL, ReadPaths: s.ReadPaths},
			mcpclient.Options{Confinement: mcpclient.Confinement{Workspace: r.env.Workspace(), ReadOnly: tools.DefaultShellReadOnly,
				Network: caps.CanNetwork, Mode: confineMode(pol.Shell.Confine)}})
		cancel()
		if err != nil {
			r.h.log.Warn("MCP server unavailable: its tools are not offered", "agent", def.Name, "server", s.Name, "err", err)
			continue
		}
		if n := conn.Note(); n != "" {
			r.h.log.Warn("MCP server", "agent", def.Name, "server", s.Name, "note", n)
		}
		offered := 0
		for _, t := range conn.Tools() {
			name := MCPToolPrefix + s.Name + "." + t.Name
			if def.Tools != nil && !slices.Contains(def.Tools, name) {
				continue
			}
			if !caps.Tools.Permits(name) {
				continue
			}
			// Model providers accept only [A-Za-z0-9_-]{1,64} as function
			// names: the model sees mcp__SERVER__TOOL, everything else
			// (capabilities, governance, the chain) mcp.SERVER.TOOL.
			model := "mcp__" + s.Name + "__" + strings.ReplaceAll(t.Name, ".", "_")
			if _, taken := r.mcpModel[model]; taken || !modelToolName.MatchString(model) {
				r.h.log.Warn("MCP tool left out: no model-safe name", "agent", def.Name, "tool", name)
				continue
			}
			if r.mcpTools == nil {
				r.mcpTools, r.mcpModel = map[string]mcpTool{}, map[string]string{}
			}
			r.mcpTools[name] = mcpTool{conn: conn, tool: t.Name, host: host}
			r.mcpModel[model] = name
			r.specs = append(r.specs, llm.ToolSpec{Name: model, Description: t.Description + " (tool " + t.Name + " of MCP server " + s.Name + ")", Parameters: t.InputSchema})
			offered++
		}
		if offered == 0 {
			_ = conn.Close()
			continue
		}
		r.mcpConns = append(r.mcpConns, conn)
	}
}

func confineMode(m tools.ConfineMode) mcpclient.Mode {
	switch m {
	case tools.ConfineOff:
		return mcpclient.Off
	case tools.ConfineBestEffort:
		return mcpclient.BestEffort
	}
	return mcpclient.Required
}

// CloseMCP ends the runner's MCP connections (their programs stop).
func (r *ToolRunner) CloseMCP() {
	for _, c := range r.mcpConns {
		if err := c.Close(); err != nil {
			r.h.log.Debug("closing an MCP server", "server", c.Name(), "err", err)
		}
	}
	r.mcpConns = nil
}

// errMCPTool is a tool error the MCP server itself reported.
var errMCPTool = errors.New("the MCP tool reported an error")

// runMCP runs an MCP server's tool: an mcp.call act (server and tool in
// its context) of the process — tool capability and limit, can_network
// for URL servers, governance, both ends on the chain — then the call.
func (r *ToolRunner) runMCP(ctx context.Context, call llm.ToolCall, t mcpTool) (out string, failure, fatal error) {
	server := strings.TrimSuffix(strings.TrimPrefix(call.Name, MCPToolPrefix), "."+t.tool)
	act := authority.Act{Action: "mcp.call", Kind: governance.KindToolCall, Source: "agent", Subject: subjectOf(r.p, r.session), Gate: r.gate, Carry: CarryFrom(ctx),
		Context: governance.Context{Tool: call.Name, Host: t.host,
			Extra: map[string]string{"server": server, "tool": t.tool, "input_hash": shake(call.Arguments), "call_id": call.ID}},
		Checks: []authority.Check{
			func() error { return kernelErr(r.p.ChargeToolCall(call.Name)) },
			func() error {
				if t.host != "" && !r.p.Capabilities().CanNetwork {
					return fmt.Errorf("%w: MCP server %s is reached over the network and the process lacks can_network", authority.ErrCapability, server)
				}
				return nil
			}}}
	pm, err := r.h.auth.Authorize(ctx, act)
	if err != nil {
		return Refusal(ctx, err)
	}
	text, isErr, callErr := t.conn.Call(ctx, t.tool, call.Arguments)
	detail := governance.ToolCallDetail{Tool: call.Name, CallID: call.ID, InputHash: shake(call.Arguments)}
	runErr := callErr
	switch {
	case callErr != nil:
		text = callErr.Error()
	case isErr:
		runErr = fmt.Errorf("%w: %s", errMCPTool, clip.Ellipsis(text, 200))
	default:
		detail.OutputHash, detail.OutputLen = shake([]byte(text)), len(text)
	}
	if err := pm.Done(ctx, detail, runErr); err != nil {
		return "", nil, fmt.Errorf("recording the MCP call: %w", err)
	}
	if runErr != nil && ctx.Err() != nil {
		return "", nil, ctx.Err()
	}
	return text, runErr, nil
}
