package apitype

import "encoding/json"

// MCPSessionRequest is the body of POST /v1/mcp/sessions: a tool session
// for an MCP server (weave mcp serve, the gateway's /mcp endpoint). The
// session is a kernel process running with the named agent definition's
// capabilities; every tool call in it is an act of that process.
type MCPSessionRequest struct {
	Agent     string `json:"agent,omitempty"` // "" for the default agent
	Workspace string `json:"workspace"`       // absolute
	// Label names the session's client in the process table (weave ps).
	Label string `json:"label,omitempty"`
}

// MCPTool is one tool a session offers: built-in, memory or WASM tools
// the session's capabilities allow, plus ask_agent.
type MCPTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

// MCPSession answers POST /v1/mcp/sessions.
type MCPSession struct {
	ID        string    `json:"id"`
	PID       uint64    `json:"pid"`
	Agent     string    `json:"agent"`
	Workspace string    `json:"workspace"`
	Tools     []MCPTool `json:"tools"`
}

// MCPCallRequest is the body of POST /v1/mcp/sessions/{id}/call.
type MCPCallRequest struct {
	Tool      string          `json:"tool"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	CallID    string          `json:"call_id,omitempty"`
}

// MCPCallResult answers a call. A call the tool or governance refused is
// a result with IsError (the MCP client's model sees why); only a session
// that is gone, or a chain that cannot be written, is an API error.
type MCPCallResult struct {
	Output  string `json:"output"`
	IsError bool   `json:"is_error,omitempty"`
}

// MCPSessionEnded answers DELETE /v1/mcp/sessions/{id}.
type MCPSessionEnded struct {
	ID string `json:"id"`
}
