//go:build !nollm

package daemon

import (
	"fmt"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/agenthost"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/localapi"
)

// MCP tool sessions live in internal/agenthost; these are their names
// as the daemon's API and tests know them.
const (
	MCPKind      = agenthost.MCPKind
	AskAgentTool = agenthost.AskAgentTool
)

// ErrUnknownMCPSession: no live MCP tool session has that id.
var ErrUnknownMCPSession = agenthost.ErrUnknownMCPSession

// openMCPSessions builds the MCP tool sessions on the agent host and
// registers their process kind: ask_agent runs through the daemon's agent
// runs, and a session's process stops as an agent's does.
func (d *Daemon) openMCPSessions() {
	d.mcp = agenthost.NewMCPSessions(agenthost.MCPOptions{Host: d.agenthost, Workspace: d.cfg.Agents.Workspace,
		Clock: d.opts.Clock, Run: d.runAgent, Stop: d.agenthost.StopAgent})
	d.kernel.RegisterKind(MCPKind, d.mcp.KindFunc)
}

func (d *Daemon) mcpRoutes() []localapi.Route {
	return []localapi.Route{
		{Pattern: "POST /v1/mcp/sessions", Handler: d.handleMCPSession},
		{Pattern: "POST /v1/mcp/sessions/{id}/call", Handler: d.handleMCPCall},
		{Pattern: "DELETE /v1/mcp/sessions/{id}", Handler: d.handleMCPEnd},
	}
}

func (d *Daemon) handleMCPSession(w http.ResponseWriter, r *http.Request) {
	var req apitype.MCPSessionRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	s, err := d.mcp.Open(r.Context(), req, nil)
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, s)
}

func (d *Daemon) handleMCPCall(w http.ResponseWriter, r *http.Request) {
	var req apitype.MCPCallRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	res, err := d.mcp.Call(r.Context(), r.PathValue("id"), req)
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, res)
}

func (d *Daemon) handleMCPEnd(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !d.mcp.End(r.Context(), id) {
		d.fail(w, fmt.Errorf("%w: %s", ErrUnknownMCPSession, id))
		return
	}
	localapi.WriteJSON(w, apitype.MCPSessionEnded{ID: id})
}
