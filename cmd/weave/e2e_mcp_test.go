package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// mcpNode is a detached daemon with a fake model, a workspace holding
// notes.txt and the example WASM tool echo installed.
type mcpNode struct {
	c  *cli
	ws string
	cl *client.Client
}

func startMCPNode(t *testing.T) *mcpNode {
	t.Helper()
	return startMCPNodeWith(t, "", nil)
}

// startMCPNodeWith adds keys to [agents] in weftos.toml and agent
// definitions (name → YAML) to the home.
func startMCPNodeWith(t *testing.T, agentsExtra string, agents map[string]string) *mcpNode {
	t.Helper()
	srv := llmtest.NewOpenAI(llmtest.Options{Handler: func(llmtest.Request) llmtest.Turn { return llmtest.Text("hello from the agent") }})
	t.Cleanup(srv.Close)
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "test")
	t.Setenv("ANTHROPIC_API_KEY", "")
	c := &cli{t: t, bin: buildWeave(t), home: filepath.Join(t.TempDir(), "home")}
	if err := os.MkdirAll(c.home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.home, "weftos.toml"), []byte("[agents]\nmodel = \"openai/m\"\n"+agentsExtra), 0o600); err != nil {
		t.Fatal(err)
	}
	if len(agents) > 0 {
		if err := os.MkdirAll(filepath.Join(c.home, "agents"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for name, def := range agents {
		if err := os.WriteFile(filepath.Join(c.home, "agents", name+".yaml"), []byte(def), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "notes.txt"), []byte("the launch code is 1234"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("boot", "--detach")
	t.Cleanup(func() { c.run("shutdown") })
	cl, err := client.New(c.home)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	// The example WASM tool, built from Go source now.
	pkg := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(pkg, "tool.wasm"), ".")
	build.Dir = "../../examples/tools/echo"
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the echo tool: %v\n%s", err, out)
	}
	manifest, err := os.ReadFile("../../examples/tools/echo/tool.toml")
	if err != nil {
		t.Fatal(err)
	}
	m := strings.Replace(string(manifest), `hosts = ["api.example.com"]`, `hosts = []`, 1)
	if err := os.WriteFile(filepath.Join(pkg, "tool.toml"), []byte(m), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.ToolInstall(context.Background(), pkg); err != nil {
		t.Fatal(err)
	}
	return &mcpNode{c: c, ws: ws, cl: cl}
}

// toolCalls counts the chain's tool.call outcomes and refusals per tool.
func (n *mcpNode) toolCalls(t *testing.T) (calls, refusals map[string]int) {
	t.Helper()
	evs, err := n.cl.ChainEvents(context.Background(), apitype.ChainEventsQuery{N: 1000})
	if err != nil {
		t.Fatal(err)
	}
	calls, refusals = map[string]int{}, map[string]int{}
	for _, ev := range evs {
		var p struct {
			Detail struct {
				Tool string `json:"tool"`
			} `json:"detail"`
			Request struct {
				Context struct {
					Tool string `json:"tool"`
				} `json:"context"`
			} `json:"request"`
		}
		_ = json.Unmarshal(ev.Payload, &p)
		switch ev.Kind {
		case "tool.call":
			calls[p.Detail.Tool]++
		case "governance.refusal":
			refusals[p.Request.Context.Tool]++
		}
	}
	return calls, refusals
}

// TestMCPStdio: the go-sdk's client runs `weave mcp serve --stdio` and
// calls a built-in tool, the WASM tool and ask_agent through it, each on
// the chain; a call outside the workspace is refused and recorded.
func TestMCPStdio(t *testing.T) {
	n := startMCPNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.Command(n.c.bin, "mcp", "serve", "--stdio", "--home", n.c.home, "--workspace", n.ws)
	cmd.Stderr = os.Stderr
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cs.InitializeResult().ServerInfo.Name; got != "weftos" {
		t.Fatalf("server %q", got)
	}
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	for _, want := range []string{"read_file", "echo", "ask_agent", "memory_search"} {
		if !slices.Contains(names, want) {
			t.Fatalf("tools %v lack %s", names, want)
		}
	}
	text := func(r *mcp.CallToolResult) string {
		var b strings.Builder
		for _, c := range r.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				b.WriteString(tc.Text)
			}
		}
		return b.String()
	}
	call := func(name string, args map[string]any) *mcp.CallToolResult {
		t.Helper()
		r, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return r
	}
	if r := call("read_file", map[string]any{"path": "notes.txt"}); r.IsError || !strings.Contains(text(r), "1234") {
		t.Fatalf("read_file: %q", text(r))
	}
	if r := call("read_file", map[string]any{"path": "../../etc/passwd"}); !r.IsError {
		t.Fatalf("read_file outside the workspace: %q", text(r))
	}
	if r := call("echo", map[string]any{"text": "hi"}); r.IsError || !strings.Contains(text(r), "HI") {
		t.Fatalf("echo: %q", text(r))
	}
	if r := call("ask_agent", map[string]any{"message": "hi"}); r.IsError || text(r) != "hello from the agent" {
		t.Fatalf("ask_agent: %q", text(r))
	}
	if err := cs.Close(); err != nil {
		t.Fatal(err)
	}
	calls, refusals := n.toolCalls(t)
	if calls["read_file"] != 1 || calls["echo"] != 1 || calls["ask_agent"] != 1 || refusals["read_file"] != 1 {
		t.Fatalf("on the chain: calls %v, refusals %v", calls, refusals)
	}
	// The session's process is gone with its client.
	ps := n.c.ok("ps")
	if strings.Contains(ps, "mcp:default") {
		t.Fatalf("the MCP session outlived its client:\n%s", ps)
	}
	n.c.ok("gov", "audit")
}

// TestMCPTypeScript: interoperability with the official TypeScript SDK
// (@modelcontextprotocol/sdk, installed with npm ci from the committed
// lock file), on one node: its client against weave mcp serve --stdio,
// and its server as an agent definition's MCP server.
func TestMCPTypeScript(t *testing.T) {
	dir := npmFixture(t, "testdata/mcpnode")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(err)
	}
	if node, err = filepath.EvalSymlinks(node); err != nil {
		t.Fatal(err)
	}
	def := "name: tsagent\nmcp_servers:\n  - name: ts\n    command: " + node + "\n    args: [" + filepath.Join(dir, "server.mjs") + "]\n" +
		"    read_paths: [" + dir + "]\ncapabilities:\n  can_exec_tools: true\n  can_ipc: true\n  tools_allow: [\"mcp.ts.*\"]\n"
	n := startMCPNodeWith(t, "shell_confinement = \"best_effort\"\n", map[string]string{"tsagent": def})
	t.Run("client", func(t *testing.T) { tsClient(t, dir, n) })
	t.Run("server", func(t *testing.T) { tsServer(t, n) })
}

// tsClient: the TypeScript SDK's client against weave mcp serve --stdio.
func tsClient(t *testing.T, dir string, n *mcpNode) {
	cmd := exec.Command("node", "client.mjs", n.c.bin, n.c.home, n.ws)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client.mjs: %v\n%s", err, out)
	}
	var got struct {
		Server   struct{ Name string }
		Tools    []string
		ReadFile struct {
			Text    string
			IsError bool `json:"is_error"`
		} `json:"read_file"`
		Outside struct {
			IsError bool `json:"is_error"`
		}
		Echo struct {
			Text    string
			IsError bool `json:"is_error"`
		}
		AskAgent struct {
			Text    string
			IsError bool `json:"is_error"`
		} `json:"ask_agent"`
		Memory struct{ Contents int }
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Server.Name != "weftos" || !slices.Contains(got.Tools, "echo") || !slices.Contains(got.Tools, "read_file") ||
		got.ReadFile.IsError || !strings.Contains(got.ReadFile.Text, "1234") || !got.Outside.IsError ||
		got.Echo.IsError || !strings.Contains(got.Echo.Text, "INTEROP") ||
		got.AskAgent.IsError || got.AskAgent.Text != "hello from the agent" || got.Memory.Contents != 1 {
		t.Fatalf("the TypeScript client saw %s", out)
	}
	calls, refusals := n.toolCalls(t)
	if calls["read_file"] != 1 || calls["echo"] != 1 || calls["ask_agent"] != 1 || refusals["read_file"] != 1 {
		t.Fatalf("on the chain: calls %v, refusals %v", calls, refusals)
	}
}

// npmFixture copies a node fixture (package.json, package-lock.json and
// scripts) to a temporary directory and runs npm ci there. Without node
// and npm the test is skipped — unless WEFTOS_REQUIRE_NODE is set, as CI
// sets it (.ci/run installs nodejs).
func npmFixture(t *testing.T, src string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("installs npm packages")
	}
	_, errNode := exec.LookPath("node")
	_, errNPM := exec.LookPath("npm")
	if errNode != nil || errNPM != nil {
		if os.Getenv("WEFTOS_REQUIRE_NODE") != "" {
			t.Fatalf("node and npm are required (WEFTOS_REQUIRE_NODE is set): %v %v", errNode, errNPM)
		}
		t.Skip("node and npm are not installed: the TypeScript SDK interop test runs in CI (.ci/run installs nodejs)")
	}
	dir := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue // node_modules of a local install
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	return dir
}

// tsServer: an agent definition lists an MCP server written with the
// TypeScript SDK; its tools reach the agent as mcp.ts.TOOL, the program
// runs confined in the workspace, and each call is an mcp.call act on the
// chain.
func tsServer(t *testing.T, n *mcpNode) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := n.cl.MCPSession(ctx, apitype.MCPSessionRequest{Agent: "tsagent", Workspace: n.ws})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range s.Tools {
		names = append(names, tl.Name)
	}
	if !slices.Contains(names, "mcp.ts.shout") || !slices.Contains(names, "mcp.ts.where") {
		log, _ := os.ReadFile(filepath.Join(n.c.home, "weave.log"))
		t.Fatalf("tools %v\n%s", names, log)
	}
	res, err := n.cl.MCPCall(ctx, s.ID, apitype.MCPCallRequest{Tool: "mcp.ts.shout", Arguments: json.RawMessage(`{"text":"hello"}`)})
	if err != nil || res.IsError || res.Output != "HELLO!" {
		t.Fatalf("shout: %+v %v", res, err)
	}
	res, err = n.cl.MCPCall(ctx, s.ID, apitype.MCPCallRequest{Tool: "mcp.ts.where", Arguments: json.RawMessage(`{}`)})
	if err != nil || res.IsError || res.Output != n.ws {
		t.Fatalf("where: %+v %v", res, err)
	}
	if _, err := n.cl.MCPSessionEnd(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	calls, _ := n.toolCalls(t)
	if calls["mcp.ts.shout"] != 1 || calls["mcp.ts.where"] != 1 {
		t.Fatalf("on the chain: %v", calls)
	}
	n.c.ok("gov", "audit")
}

// BenchmarkMCPStdio measures a read_file call three ways, reporting each
// one's median: through weave mcp serve --stdio (the go-sdk client, the
// serve process, the socket, the daemon's governed path), through the
// daemon's API directly (the same governed path, no MCP), and the tool
// alone in this process. The MCP overhead is the first minus the second.
func BenchmarkMCPStdio(b *testing.B) {
	b.StopTimer()
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	b.Setenv("OPENAI_BASE_URL", srv.URL)
	b.Setenv("OPENAI_API_KEY", "test")
	home := filepath.Join(b.TempDir(), "home")
	bin := filepath.Join(b.TempDir(), "weave")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	ws := b.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "notes.txt"), []byte("the launch code is 1234"), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "weftos.toml"), []byte("[agents]\nmodel = \"openai/m\"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command(bin, "boot", "--detach", "--home", home).CombinedOutput(); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	defer exec.Command(bin, "shutdown", "--home", home).Run()
	ctx := context.Background()
	cmd := exec.Command(bin, "mcp", "serve", "--stdio", "--home", home, "--workspace", ws)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil).Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close()
	cl, err := client.New(home)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	s, err := cl.MCPSession(ctx, apitype.MCPSessionRequest{Workspace: ws})
	if err != nil {
		b.Fatal(err)
	}
	args := map[string]any{"path": "notes.txt"}
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds())
	}
	var viaMCP, viaAPI, direct []time.Duration
	b.StartTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		r, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "read_file", Arguments: args})
		if err != nil || r.IsError {
			b.Fatal(r, err)
		}
		t1 := time.Now()
		res, err := cl.MCPCall(ctx, s.ID, apitype.MCPCallRequest{Tool: "read_file", Arguments: json.RawMessage(`{"path":"notes.txt"}`)})
		if err != nil || res.IsError {
			b.Fatal(res, err)
		}
		t2 := time.Now()
		if _, err := os.ReadFile(filepath.Join(ws, "notes.txt")); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		viaMCP, viaAPI, direct = append(viaMCP, t1.Sub(t0)), append(viaAPI, t2.Sub(t1)), append(direct, t3.Sub(t2))
	}
	b.StopTimer()
	b.ReportMetric(median(viaMCP), "mcp-p50-µs")
	b.ReportMetric(median(viaAPI), "api-p50-µs")
	b.ReportMetric(median(direct), "read-p50-µs")
}
