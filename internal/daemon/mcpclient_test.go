//go:build !nochannels && !nomcp && !nollm

package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// buildFakeMCP builds the MCP server of internal/mcpclient's tests (echo,
// env, read on stdio) from source.
func buildFakeMCP(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fakemcp")
	if out, err := exec.Command("go", "build", "-o", bin, "../mcpclient/testdata/fakeserver").CombinedOutput(); err != nil {
		t.Fatalf("building the fake MCP server: %v\n%s", err, out)
	}
	return bin
}

func writeAgent(t *testing.T, home, name, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(home, "agents"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "agents", name+".yaml"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestMCPClientTools: an agent definition's MCP server (a program built
// from Go source, confined) offers its tools as mcp.SERVER.TOOL; each call
// is an mcp.call act on the chain; tools the capabilities deny are not
// offered and refused; an agent's model calls them like any tool.
func TestMCPClientTools(t *testing.T) {
	fake := buildFakeMCP(t)
	var turn atomic.Int32
	n := startGatewayAgents(t, "shell_confinement = \"best_effort\"\n", "", llmtest.Options{Handler: func(r llmtest.Request) llmtest.Turn {
		if turn.Add(1)%2 == 1 {
			return llmtest.Calls(llmtest.ToolCall{ID: "c1", Name: "mcp__fake__echo", Arguments: `{"text":"from the model"}`})
		}
		// The tool's result is in the conversation the model sees.
		if !strings.Contains(string(r.Body), "echo: from the model") {
			return llmtest.Text("the tool result is missing")
		}
		return llmtest.Text("done")
	}})
	writeAgent(t, n.home, "withmcp", fmt.Sprintf("name: withmcp\nmcp_servers:\n  - name: fake\n    command: %s\n    env: [WEFT_MCP_ALLOWED]\ncapabilities:\n  can_exec_tools: true\n  can_ipc: true\n  tools_allow: [\"mcp.fake.*\", read_file]\n  tools_deny: [mcp.fake.read]\n", fake))
	t.Setenv("WEFT_MCP_ALLOWED", "yes")
	t.Setenv("WEFT_MCP_SECRET", "no")
	ctx := context.Background()
	ws := n.d.gw.hub.Workspace

	s, err := n.c.MCPSession(ctx, apitype.MCPSessionRequest{Agent: "withmcp", Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range s.Tools {
		names = append(names, tl.Name)
	}
	if !slices.Contains(names, "mcp.fake.echo") || !slices.Contains(names, "mcp.fake.env") || slices.Contains(names, "mcp.fake.read") {
		t.Fatalf("tools %v", names)
	}
	res, err := n.c.MCPCall(ctx, s.ID, apitype.MCPCallRequest{Tool: "mcp.fake.echo", Arguments: json.RawMessage(`{"text":"hi"}`)})
	if err != nil || res.IsError || res.Output != "echo: hi" {
		t.Fatalf("echo: %+v %v", res, err)
	}
	res, err = n.c.MCPCall(ctx, s.ID, apitype.MCPCallRequest{Tool: "mcp.fake.env", Arguments: json.RawMessage(`{"names":["WEFT_MCP_ALLOWED","WEFT_MCP_SECRET"]}`)})
	if err != nil || res.Output != "WEFT_MCP_ALLOWED=yes;WEFT_MCP_SECRET=;" {
		t.Fatalf("env: %+v %v", res, err)
	}
	// Denied by the capabilities: never offered, and refused on the chain.
	res, err = n.c.MCPCall(ctx, s.ID, apitype.MCPCallRequest{Tool: "mcp.fake.read", Arguments: json.RawMessage(`{"path":"x"}`)})
	if err != nil || !res.IsError {
		t.Fatalf("read: %+v %v", res, err)
	}
	if _, err := n.c.MCPSessionEnd(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	calls, _ := n.actsFor(t, "mcp.fake.echo")
	if calls != 1 {
		t.Fatalf("mcp.fake.echo on the chain: %d", calls)
	}
	if _, refusals := n.actsFor(t, "mcp.fake.read"); refusals != 1 {
		t.Fatalf("mcp.fake.read refusals on the chain: %d", refusals)
	}
	decisions := 0
	for seq := range n.d.chain.Len() {
		ev, _ := n.d.chain.Get(seq)
		if ev.Kind == "governance.decision" && strings.Contains(string(ev.Payload), `"action":"mcp.call"`) &&
			strings.Contains(string(ev.Payload), `"server":"fake"`) {
			decisions++
		}
	}
	if decisions != 2 {
		t.Fatalf("mcp.call decisions naming the server: %d, want 2", decisions)
	}

	// An agent's model calls the MCP tool like any other.
	var final apitype.RunEvent
	err = n.c.AgentRun(ctx, apitype.RunRequest{Agent: "withmcp", Session: "m1", Workspace: ws, Message: "go", Once: true}, func(ev apitype.RunEvent) error {
		if ev.Type == apitype.RunFinal || ev.Type == apitype.RunError {
			final = ev
		}
		return nil
	})
	if err != nil || final.Type != apitype.RunFinal || final.Answer != "done" {
		log, _ := os.ReadFile(filepath.Join(n.home, "weave.log"))
		t.Fatalf("agent run: %+v %v\n%s", final, err, log)
	}
	if calls, _ := n.actsFor(t, "mcp.fake.echo"); calls != 2 {
		t.Fatalf("mcp.fake.echo on the chain after the run: %d", calls)
	}
	rep, err := n.c.GovAudit(ctx, 0)
	if err != nil || len(rep.Findings) != 0 {
		t.Fatalf("audit: %+v %v", rep, err)
	}
}
