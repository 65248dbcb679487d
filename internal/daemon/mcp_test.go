//go:build !nochannels && !nomcp && !nollm

package daemon

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// bearerTransport adds a gateway token to every request.
type bearerTransport struct {
	token string
	base  http.RoundTripper
}

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// mcpClient connects the go-sdk's client to the gateway's /mcp.
func (n *gwNode) mcpClient(t *testing.T, token, query string) *mcp.ClientSession {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: n.base + "/mcp" + query,
		HTTPClient: &http.Client{Transport: bearerTransport{token, tr}}, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func toolNames(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	return names
}

func textOf(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func TestMCPGateway(t *testing.T) {
	// An MCP client makes several HTTP requests per call (the rate limit
	// counts requests): a generous limit for the test.
	n := startGateway(t, "rate_per_minute = 6000\nburst = 500\n", llmtest.Options{})
	ctx := context.Background()
	ws := n.d.gw.hub.Workspace
	if err := os.WriteFile(filepath.Join(ws, "notes.txt"), []byte("the launch code is 1234"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A narrow agent: read_file only.
	if err := os.MkdirAll(filepath.Join(n.home, "agents"), 0o700); err != nil {
		t.Fatal(err)
	}
	narrow := "name: narrow\ndescription: reads\ntools: [read_file]\ncapabilities:\n  can_exec_tools: true\n  tools_allow: [read_file]\n"
	if err := os.WriteFile(filepath.Join(n.home, "agents", "narrow.yaml"), []byte(narrow), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("unauthenticated", func(t *testing.T) {
		resp, err := http.Post(n.base+"/mcp", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d", resp.StatusCode)
		}
		out, err := n.c.GatewayTokenCreate(ctx, apitype.GatewayTokenCreateRequest{Agents: []string{"default"}, Scopes: []string{"chat"}})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, n.base+"/mcp", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+out.Token)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("without the mcp scope: status %d", resp.StatusCode)
		}
	})

	token := n.token(t, "default")
	cs := n.mcpClient(t, token, "")
	names := toolNames(t, cs)
	for _, want := range []string{"read_file", "list_dir", "memory_search", AskAgentTool} {
		if !slices.Contains(names, want) {
			t.Fatalf("tools %v lack %s", names, want)
		}
	}
	if slices.Contains(names, "shell_exec") {
		t.Fatalf("tools %v offer shell_exec, which the default agent may not call", names)
	}

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "read_file", Arguments: map[string]any{"path": "notes.txt"}})
	if err != nil || res.IsError || !strings.Contains(textOf(t, res), "launch code is 1234") {
		t.Fatalf("read_file: %+v %v", res, err)
	}
	// Outside the workspace: refused, recorded, an error result.
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "read_file", Arguments: map[string]any{"path": "../../etc/passwd"}})
	if err != nil || !res.IsError {
		t.Fatalf("read_file outside: %+v %v", res, err)
	}
	// Agents as tools.
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: AskAgentTool, Arguments: map[string]any{"message": "hi"}})
	if err != nil || res.IsError || textOf(t, res) != "hello from the agent" {
		t.Fatalf("ask_agent: %+v %v", res, err)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: AskAgentTool, Arguments: map[string]any{"agent": "narrow", "message": "hi"}})
	if err != nil || !res.IsError || !strings.Contains(textOf(t, res), "out of this session's reach") {
		t.Fatalf("ask_agent beyond the token's agents: %+v %v", res, err)
	}
	// Memory search as a tool and as a resource.
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "memory_search", Arguments: map[string]any{"query": "launch"}})
	if err != nil || res.IsError {
		t.Fatalf("memory_search: %+v %v", res, err)
	}
	tpls, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil || len(tpls.ResourceTemplates) != 1 {
		t.Fatalf("templates: %+v %v", tpls, err)
	}
	rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "weftos://memory/search/launch%20code"})
	if err != nil || len(rr.Contents) != 1 {
		t.Fatalf("memory resource: %+v %v", rr, err)
	}
	calls, refusals := n.actsFor(t, "read_file")
	if calls != 1 || refusals != 1 {
		t.Fatalf("read_file on the chain: %d calls, %d refusals; want 1 and 1", calls, refusals)
	}
	if calls, _ := n.actsFor(t, AskAgentTool); calls != 1 {
		t.Fatalf("ask_agent on the chain: %d calls", calls)
	}
	if k := n.kinds(t); k[governance.KindMemorySearch] < 2 {
		t.Fatalf("memory searches on the chain: %d", k[governance.KindMemorySearch])
	}

	// The narrow agent's token: its tools only; others refused and recorded.
	nt := n.token(t, "narrow")
	ns := n.mcpClient(t, nt, "")
	if names := toolNames(t, ns); !slices.Equal(names, []string{"read_file"}) {
		t.Fatalf("narrow tools %v", names)
	}
	res, err = ns.CallTool(ctx, &mcp.CallToolParams{Name: "write_file", Arguments: map[string]any{"path": "x", "content": "y"}})
	if err == nil && !res.IsError {
		t.Fatalf("write_file by narrow: %+v", res)
	}
	if _, err := os.Stat(filepath.Join(ws, "x")); !os.IsNotExist(err) {
		t.Fatalf("write_file by narrow wrote: %v", err)
	}
	// A call the SDK does not stop (it knows only listed tools) is refused
	// by the daemon too.
	nsID := n.d.mcpSessionsOf(t, "narrow")
	out, err := n.d.mcp.Call(ctx, nsID, apitype.MCPCallRequest{Tool: "write_file", Arguments: json.RawMessage(`{"path":"x","content":"y"}`)})
	if err != nil || !out.IsError {
		t.Fatalf("write_file by narrow, daemon side: %+v %v", out, err)
	}
	if _, refusals := n.actsFor(t, "write_file"); refusals != 1 {
		t.Fatalf("write_file refusals on the chain: %d", refusals)
	}

	// A token reaching several agents picks one with ?agent=.
	both := n.token(t, "default", "narrow")
	bs := n.mcpClient(t, both, "?agent=narrow")
	if names := toolNames(t, bs); !slices.Equal(names, []string{"read_file"}) {
		t.Fatalf("?agent=narrow tools %v", names)
	}
}

// mcpSessionsOf returns the id of the one live MCP session of agent.
func (d *Daemon) mcpSessionsOf(t *testing.T, agent string) string {
	t.Helper()
	ids := d.mcp.SessionsOf(agent)
	if len(ids) != 1 {
		t.Fatalf("MCP sessions of %s: %v", agent, ids)
	}
	return ids[0]
}
