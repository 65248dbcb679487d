//go:build nomcp || nollm

package agenthost

import (
	"context"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/layers"
	"github.com/weftos/weftos/internal/llm"
)

// mcpParts is empty: MCP is compiled out (nomcp).
type mcpParts struct{}

// Canonical: without MCP every name is its own.
func (r *ToolRunner) Canonical(name string) string { return name }

// connectMCP connects nothing: like a server that cannot be reached, each
// of the definition's servers is left out and logged, and the agent runs
// without its tools.
func (r *ToolRunner) connectMCP(_ context.Context, def agentdef.Definition, caps kernel.Capabilities) {
	if !caps.CanExecTools {
		return
	}
	for _, s := range def.MCPServers {
		r.h.log.Warn("MCP server unavailable: its tools are not offered", "agent", def.Name, "server", s.Name, "err", layers.NotBuilt(layers.MCP))
	}
}

// CloseMCP: no connections.
func (r *ToolRunner) CloseMCP() {}

// mcpCall: no MCP tool is offered, so none is called; a model naming one
// calls an unknown tool, refused and recorded like any.
func (r *ToolRunner) mcpCall(context.Context, llm.ToolCall) (string, error, error, bool) {
	return "", nil, nil, false
}
