// Package mcpserve serves WeftOS's governed tools over the Model Context
// Protocol (github.com/modelcontextprotocol/go-sdk): the built-in, memory
// and WASM tools an agent definition's capabilities allow, ask_agent
// (agents as tools) and memory search as a resource template.
//
// The package holds no authority of its own. Every call goes to a Backend
// — the daemon's MCP tool session, reached over the typed client by `weave
// mcp serve --stdio` or in-process by the gateway's /mcp endpoint — which
// runs it as an act of the session's process: described, capability
// checked, decided by governance and recorded on the chain before and
// after, exactly as an agent's tool call.
package mcpserve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftos/weftos/internal/apitype"
)

// Backend is the daemon as the MCP server sees it: tool sessions opened,
// called and ended. A Call on a session the daemon no longer has (stopped
// while idle) fails with an error matching apitype.ErrUnknownMCP; the
// server then opens a new session and calls again once.
type Backend interface {
	Open(ctx context.Context) (apitype.MCPSession, error)
	Call(ctx context.Context, session string, req apitype.MCPCallRequest) (apitype.MCPCallResult, error)
	End(ctx context.Context, session string) error
}

// MemoryTool is the tool behind the memory resource template.
const MemoryTool = "memory_search"

// MemoryTemplate is the URI template of memory searches as resources.
const MemoryTemplate = "weftos://memory/search/{query}"

// Options configure a Server.
type Options struct {
	// Version is reported to clients as the server's version.
	Version string
	Log     *slog.Logger
}

// Server is one MCP server bound to one daemon tool session at a time
// (the daemon stops idle sessions; the next call opens another, and the
// tools offered follow it). Any number of MCP sessions may share it: the
// daemon runs their calls one at a time, as the session's process.
type Server struct {
	b   Backend
	srv *mcp.Server

	mu      sync.Mutex
	session string
	offered []string // tool names, as offered
	memory  bool     // the memory resource template is offered
}

// New opens a tool session on b and returns an MCP server offering its
// tools. Close ends the session.
func New(ctx context.Context, b Backend, opts Options) (*Server, error) {
	sess, err := b.Open(ctx)
	if err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	s := &Server{b: b, session: sess.ID}
	s.srv = mcp.NewServer(&mcp.Implementation{Name: "weftos", Title: "WeftOS", Version: opts.Version}, &mcp.ServerOptions{
		Logger: opts.Log,
		Instructions: fmt.Sprintf("WeftOS tools of agent %q. Every call is decided by the node's governance and recorded on its audit chain; "+
			"a refused call returns an error result saying why.", sess.Agent),
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}},
	})
	s.offer(sess.Tools)
	return s, nil
}

// offer makes the server's tools those of a (new) session: tools
// installed or removed since are added or dropped, and clients told.
func (s *Server) offer(tools []apitype.MCPTool) {
	var gone []string
	for _, name := range s.offered {
		if !slices.ContainsFunc(tools, func(t apitype.MCPTool) bool { return t.Name == name }) {
			gone = append(gone, name)
		}
	}
	if len(gone) > 0 {
		s.srv.RemoveTools(gone...)
	}
	s.offered = s.offered[:0]
	for _, t := range tools {
		s.srv.AddTool(&mcp.Tool{Name: t.Name, Description: t.Description, InputSchema: t.InputSchema}, s.handler(t.Name))
		s.offered = append(s.offered, t.Name)
	}
	memory := slices.Contains(s.offered, MemoryTool)
	switch {
	case memory && !s.memory:
		s.srv.AddResourceTemplate(&mcp.ResourceTemplate{Name: "memory-search", Title: "Memory search",
			Description: "The agent's memories most similar to the query (the memory_search tool, governed and recorded).",
			MIMEType:    "text/plain", URITemplate: MemoryTemplate}, s.readMemory)
	case !memory && s.memory:
		s.srv.RemoveResourceTemplates(MemoryTemplate)
	}
	s.memory = memory
}

// MCP returns the go-sdk server, to run on a transport.
func (s *Server) MCP() *mcp.Server { return s.srv }

// Session returns the daemon tool session's id.
func (s *Server) Session() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.session
}

// Close ends the daemon tool session.
func (s *Server) Close(ctx context.Context) error {
	err := s.b.End(ctx, s.Session())
	if errors.Is(err, apitype.ErrUnknownMCP) {
		return nil // already stopped while idle
	}
	return err
}

// call runs one call, opening a new session once if the daemon stopped
// the old one.
func (s *Server) call(ctx context.Context, req apitype.MCPCallRequest) (apitype.MCPCallResult, error) {
	id := s.Session()
	res, err := s.b.Call(ctx, id, req)
	if !errors.Is(err, apitype.ErrUnknownMCP) {
		return res, err
	}
	s.mu.Lock()
	if s.session == id {
		sess, oerr := s.b.Open(ctx)
		if oerr != nil {
			s.mu.Unlock()
			return apitype.MCPCallResult{}, oerr
		}
		s.session = sess.ID
		s.offer(sess.Tools)
	}
	id = s.session
	s.mu.Unlock()
	return s.b.Call(ctx, id, req)
}

func (s *Server) handler(name string) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args json.RawMessage
		if req.Params != nil {
			args = req.Params.Arguments
		}
		res, err := s.call(ctx, apitype.MCPCallRequest{Tool: name, Arguments: args})
		if err != nil {
			return nil, err
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: res.Output}}, IsError: res.IsError}, nil
	}
}

// readMemory answers weftos://memory/search/{query} with memory_search.
func (s *Server) readMemory(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	uri := req.Params.URI
	q, ok := strings.CutPrefix(uri, strings.TrimSuffix(MemoryTemplate, "{query}"))
	if !ok || q == "" {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	query, err := url.PathUnescape(q)
	if err != nil {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	args, _ := json.Marshal(map[string]string{"query": query})
	res, err := s.call(ctx, apitype.MCPCallRequest{Tool: MemoryTool, Arguments: args})
	if err != nil {
		return nil, err
	}
	if res.IsError {
		return nil, fmt.Errorf("memory search: %s", res.Output)
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "text/plain", Text: res.Output}}}, nil
}
