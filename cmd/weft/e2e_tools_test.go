package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/llm/llmtest"
)

// echoPackage builds examples/tools/echo for wasip1 into a package
// directory with its manifest, optionally edited.
func echoPackage(t *testing.T, edit func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "tool.wasm"), ".")
	cmd.Dir = "../../examples/tools/echo"
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the echo tool: %v\n%s", err, out)
	}
	manifest, err := os.ReadFile("../../examples/tools/echo/tool.toml")
	if err != nil {
		t.Fatal(err)
	}
	m := string(manifest)
	if edit != nil {
		m = edit(m)
	}
	if err := os.WriteFile(filepath.Join(dir, "tool.toml"), []byte(m), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestWASMTools: install, list, inspect, run (and fail) and remove a tool
// built from Go source at test time, then an agent calls it end to end.
func TestWASMTools(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	c := newWeft(t, srv)
	// The agent below has no network capability, so this copy asks for no
	// hosts (a tool that needs the network is refused to such an agent).
	pkg := echoPackage(t, func(m string) string { return strings.Replace(m, `hosts = ["api.example.com"]`, `hosts = []`, 1) })
	tiny := echoPackage(t, func(m string) string {
		m = strings.Replace(m, `name = "echo"`, `name = "echo-tiny"`, 1)
		return strings.Replace(m, "fuel = 500_000_000", "fuel = 10_000", 1)
	})
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "tool.toml"), []byte("name = \"bad\"\nversion = \"0.1.0\"\ndescription = \"x\"\nmodule = \"tool.wasm\"\n[limits]\nmemory_mib = 16\nfuel = 1000\ntimeout_ms = 100\n[input]\ntype = \"object\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "tool.wasm"), []byte("not wasm at all"), 0o600); err != nil {
		t.Fatal(err)
	}

	if out, errs, code := c.run("tools", "install", pkg); code != 0 || !strings.Contains(out, "installed echo 0.1.0") {
		t.Fatalf("install: %d %s %s", code, out, errs)
	}
	if _, errs, code := c.run("tools", "install", pkg); code != 1 || !strings.Contains(errs, "installed") {
		t.Fatalf("second install: %d %s", code, errs)
	}
	if _, errs, code := c.run("tools", "install", bad); code != 1 || !strings.Contains(strings.ToLower(errs), "webassembly") {
		t.Fatalf("malformed module: %d %s", code, errs)
	}
	if _, _, code := c.run("tools", "install", tiny); code != 0 {
		t.Fatal("install echo-tiny")
	}
	if out, _, _ := c.run("tools", "list"); !strings.Contains(out, "echo-tiny") || !strings.Contains(out, "api.example.com") || !strings.Contains(out, "10000 fuel") {
		t.Fatalf("list:\n%s", out)
	}
	if out, _, code := c.run("tools", "inspect", "echo"); code != 0 || !strings.Contains(out, "sha256") {
		t.Fatalf("inspect: %s", out)
	}
	out, errs, code := c.run("tools", "run", "echo", "--input", `{"text":"hello"}`, "--stats")
	if code != 0 {
		t.Fatalf("run: %d %s %s", code, out, errs)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil || res["upper"] != "HELLO" {
		t.Fatalf("run output %q: %v", out, err)
	}
	if !strings.Contains(errs, "fuel used") {
		t.Fatalf("no fuel report: %s", errs)
	}
	// The same input uses the same fuel every time.
	fuel := func(s string) string { return strings.Split(s, ",")[0] }
	if _, errs2, _ := c.run("tools", "run", "echo", "--input", `{"text":"hello"}`, "--stats"); fuel(errs2) != fuel(errs) {
		t.Fatalf("fuel differs between runs: %q vs %q", errs, errs2)
	}
	// Success figures are not printed as if they were errors.
	if _, errs, code := c.run("tools", "run", "echo", "--input", `{"text":"quiet"}`); code != 0 || errs != "" {
		t.Fatalf("a successful run wrote to stderr: %d %q", code, errs)
	}
	// A failing tool's stderr is shown: here its fetch of a host it was
	// not granted is refused, and the tool says so before exiting 3.
	if _, errs, code := c.run("tools", "run", "echo", "--input", `{"text":"x","url":"https://not-granted.example.org/"}`); code != 1 ||
		!strings.Contains(errs, "echo: stderr:") || !strings.Contains(errs, "not-granted.example.org") {
		t.Fatalf("failing tool: %d %s", code, errs)
	}
	if _, errs, code := c.run("tools", "run", "echo", "--input", `{"nope":1}`); code != 1 || !strings.Contains(errs, "text") {
		t.Fatalf("schema violation: %d %s", code, errs)
	}
	if _, errs, code := c.run("tools", "run", "echo-tiny", "--input", `{"text":"hello"}`); code != 1 || !strings.Contains(errs, "fuel") {
		t.Fatalf("fuel exhaustion: %d %s", code, errs)
	}

	// An agent calls the installed tool; the call is governed and recorded
	// with the fuel it used.
	srv.Push(llmtest.Calls(llmtest.ToolCall{ID: "t1", Name: "echo", Arguments: `{"text":"agents"}`}), llmtest.Text("It says AGENTS."))
	if out, errs, code := c.run("agent", "-m", "shout agents", "--model", "openai/m"); code != 0 || !strings.Contains(out, "AGENTS") {
		t.Fatalf("agent: %d %s %s", code, out, errs)
	}
	if body := string(srv.ChatRequests()[1].Body); !strings.Contains(body, `\"upper\":\"AGENTS\"`) {
		t.Fatalf("tool output not fed back:\n%s", body)
	}
	calls, installs, refused := 0, 0, 0
	for _, ev := range chainEvents(t, c.home) {
		var r struct {
			Action  string `json:"action"`
			Agent   string `json:"agent"`
			OK      bool   `json:"ok"`
			Request struct {
				Action string `json:"action"`
			} `json:"request"`
			Detail struct {
				Tool       string   `json:"tool"`
				Fuel       int64    `json:"fuel_used"`
				InstallSeq *uint64  `json:"install_seq"`
				Grants     []string `json:"grants"`
			} `json:"detail"`
		}
		_ = json.Unmarshal(ev.Payload, &r)
		switch ev.Kind {
		case "tool.call":
			if r.Detail.Tool == "echo" && r.Agent == "default@default" {
				calls++
				if r.Detail.Fuel == 0 || r.Action != "tool.exec.echo" || r.Detail.InstallSeq == nil {
					t.Fatalf("agent tool.call record %s", ev.Payload)
				}
			}
		case "tool.install":
			if r.OK {
				installs++
			}
		case "governance.refusal":
			if r.Request.Action == "tool.install" {
				refused++
			}
		}
	}
	// Two installs; the second install of echo and the malformed module
	// are refusals (recorded, but not acts).
	if calls != 1 || installs != 2 || refused != 2 {
		t.Fatalf("chain: %d agent calls of echo, %d installs, %d refused installs (want 1, 2, 2)", calls, installs, refused)
	}
	if _, _, code := c.run("tools", "remove", "echo"); code != 0 {
		t.Fatal("remove")
	}
	if _, errs, code := c.run("tools", "run", "echo"); code != 1 || !strings.Contains(errs, "no such installed tool") {
		t.Fatalf("run after remove: %d %s", code, errs)
	}
}
