package client

import (
	"context"
	"net/url"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
)

// MCPSession opens an MCP tool session: a process with the agent
// definition's capabilities whose tool calls come from an MCP client.
func (c *Client) MCPSession(ctx context.Context, req apitype.MCPSessionRequest) (apitype.MCPSession, error) {
	var out apitype.MCPSession
	return out, c.do(ctx, http.MethodPost, "/v1/mcp/sessions", req, &out)
}

// MCPCall runs one tool call in an MCP tool session (governed and
// recorded as an act of the session's process).
func (c *Client) MCPCall(ctx context.Context, session string, req apitype.MCPCallRequest) (apitype.MCPCallResult, error) {
	var out apitype.MCPCallResult
	return out, c.do(ctx, http.MethodPost, "/v1/mcp/sessions/"+url.PathEscape(session)+"/call", req, &out)
}

// MCPSessionEnd ends an MCP tool session (its process stops).
func (c *Client) MCPSessionEnd(ctx context.Context, session string) (apitype.MCPSessionEnded, error) {
	var out apitype.MCPSessionEnded
	return out, c.do(ctx, http.MethodDelete, "/v1/mcp/sessions/"+url.PathEscape(session), nil, &out)
}
