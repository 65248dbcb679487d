//go:build !nollm

package daemon

import (
	"context"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/localapi"
)

// handleAgentStart starts a long-running agent (POST /v1/agent/start).
func (d *Daemon) handleAgentStart(w http.ResponseWriter, r *http.Request) {
	var req apitype.AgentStartRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	resp, err := d.startAgent(r.Context(), req)
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, resp)
}

// startAgent starts the agent req names (agenthost.Host.StartAgent).
func (d *Daemon) startAgent(ctx context.Context, req apitype.AgentStartRequest) (apitype.AgentStartResponse, error) {
	return d.agenthost.StartAgent(ctx, req)
}

// startAgentDef starts def in workspace: an app's services' path
// (agenthost.Host.StartDefinition).
func (d *Daemon) startAgentDef(ctx context.Context, req apitype.AgentStartRequest, def agentdef.Definition, workspace string) (apitype.AgentStartResponse, error) {
	return d.agenthost.StartDefinition(ctx, req, def, workspace)
}
