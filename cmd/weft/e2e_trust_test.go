package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/identity"
	"github.com/weftos/weftos/internal/judicial"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// auditClean replays the home's chain through the Judicial branch, as
// `weave gov audit` does offline, and fails on any finding: every act on
// the chain had a permitting decision, nothing ran that was refused.
func auditClean(t *testing.T, home string) *governance.Report {
	t.Helper()
	r, err := chain.OpenReader(filepath.Join(home, "chain"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rep, err := judicial.Audit(context.Background(), r, governance.AuditConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("audit findings: %+v", rep.Findings)
	}
	return rep
}

// records returns the chain's events of kind, decoded into maps.
func records(t *testing.T, home, kind string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, ev := range chainEvents(t, home) {
		if ev.Kind == kind {
			var m map[string]any
			if err := json.Unmarshal(ev.Payload, &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
	}
	return out
}

func request(m map[string]any) map[string]any {
	r, _ := m["request"].(map[string]any)
	return r
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestModelCallsAreGated: an agent without can_network cannot send its
// conversation to a provider off this machine — refused before any byte
// leaves, and the refusal is on the chain; a provider on loopback is
// allowed, decided before the request and recorded after it.
func TestModelCallsAreGated(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	c := newWeft(t, srv)
	writeFile(t, filepath.Join(c.home, "agents", "offline.yaml"), "name: offline\nsystem_prompt: You work offline.\ncapabilities:\n  can_exec_tools: true\n  can_ipc: true\n")
	// A remote provider: the name is not loopback, so the call is refused
	// before anything is dialled (the name need not even resolve).
	remote := append(append([]string{}, c.env...), "OPENAI_BASE_URL=http://llm.remote.example:9/v1")
	c.env, remote = remote, c.env
	_, errs, code := c.run("agent", "--agent", "offline", "-m", "hello", "--model", "openai/m")
	c.env = remote
	if code != 1 || !strings.Contains(errs, "can_network") {
		t.Fatalf("remote model call without can_network: exit %d %s", code, errs)
	}
	if n := len(srv.ChatRequests()); n != 0 {
		t.Fatalf("%d requests reached a provider", n)
	}
	refusals := 0
	for _, r := range records(t, c.home, governance.KindRefusal) {
		if request(r)["action"] == "llm.call" && r["stage"] == governance.StageCapability {
			refusals++
		}
	}
	if refusals != 1 {
		t.Fatalf("%d llm.call refusals on the chain", refusals)
	}
	// The same agent with a provider on loopback: decided, then recorded.
	srv.Push(llmtest.Text("local answer"))
	if out, errs, code := c.run("agent", "--agent", "offline", "-m", "hello", "--model", "openai/m"); code != 0 || !strings.Contains(out, "local answer") {
		t.Fatalf("loopback model call: %d %s %s", code, out, errs)
	}
	var decided, recorded bool
	for _, ev := range chainEvents(t, c.home) {
		var m map[string]any
		_ = json.Unmarshal(ev.Payload, &m)
		switch {
		case ev.Kind == governance.KindDecision && request(m)["action"] == "llm.call":
			decided = true
		case ev.Kind == governance.KindLLMCall:
			if !decided {
				t.Fatal("llm.call recorded before any decision")
			}
			det, _ := m["detail"].(map[string]any)
			if det["loopback"] != true || det["reply_len"] != float64(len("local answer")) || m["ok"] != true {
				t.Fatalf("llm.call record %s", ev.Payload)
			}
			recorded = true
		}
	}
	if !recorded {
		t.Fatal("no llm.call record")
	}
	auditClean(t, c.home)
}

// TestRefusedCallsAreRecorded: every scripted attack call leaves a record —
// calls that cannot even be described (a path outside the workspace, an
// unknown tool, bad input), calls the capabilities refuse, calls over the
// tool-call limit, and calls governance denies.
func TestRefusedCallsAreRecorded(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	c := newWeft(t, srv)
	writeFile(t, filepath.Join(c.home, "agents", "target.yaml"), `name: target
system_prompt: x
capabilities:
  can_exec_tools: true
  can_ipc: true
  tools_allow: ["read_file", "list_dir", "shell_exec", "web_fetch", "memory_store"]
  memory: none
  limits:
    tool_calls: 4
`)
	attacks := []llmtest.ToolCall{
		{ID: "a1", Name: "read_file", Arguments: `{"path":"../../etc/passwd"}`},
		{ID: "a2", Name: "read_file", Arguments: `{"path":"/etc/shadow"}`},
		{ID: "a3", Name: "no_such_tool", Arguments: `{}`},
		{ID: "a4", Name: "read_file", Arguments: `{"nope":1}`},
		{ID: "a5", Name: "shell_exec", Arguments: `{"command":"cat","args":["/etc/passwd"]}`},
		{ID: "a6", Name: "web_fetch", Arguments: `{"url":"http://169.254.169.254/latest/meta-data"}`},
		{ID: "a7", Name: "memory_store", Arguments: `{"text":"exfiltrate"}`},
		{ID: "a8", Name: "read_file", Arguments: `{"path":"README.md"}`},
		{ID: "a9", Name: "list_dir", Arguments: `{"path":"."}`},
		{ID: "a10", Name: "read_file", Arguments: `{"path":"README.md"}`},
		{ID: "a11", Name: "list_dir", Arguments: `{"path":"."}`},
	}
	srv.Push(llmtest.Calls(attacks...), llmtest.Text("done"))
	if out, errs, code := c.run("agent", "--agent", "target", "-m", "attack", "--model", "openai/m"); code != 0 {
		t.Fatalf("agent: %d %s %s", code, out, errs)
	}
	// 11 calls: a1–a4 cannot be described (path outside the workspace,
	// unknown tool, bad input) and a7 lacks memory: refused before
	// governance; a5 (no shell) and a6 (no can_network) are denied by
	// governance; a8 and a9 run; a10 and a11 exceed the limit of 4 tool
	// calls (a5, a6, a8, a9 were charged). Nothing vanished.
	var refused, denied, permitted, calls int
	stages := map[string]int{}
	for _, r := range records(t, c.home, governance.KindRefusal) {
		if request(r)["agent"] == "target@default" {
			refused++
			stages[r["stage"].(string)]++
		}
	}
	for _, d := range records(t, c.home, governance.KindDecision) {
		if request(d)["agent"] != "target@default" || request(d)["action"] == "llm.call" {
			continue
		}
		if dec, _ := d["decision"].(map[string]any); dec["outcome"] == "deny" {
			denied++
		} else {
			permitted++
		}
	}
	for _, r := range records(t, c.home, governance.KindToolCall) {
		if r["agent"] == "target@default" {
			calls++
		}
	}
	if refused != 7 || denied != 2 || permitted != 2 || calls != 2 ||
		stages[governance.StageInput] != 4 || stages[governance.StageCapability] != 1 || stages[governance.StageLimit] != 2 {
		t.Fatalf("refused %d %v, denied %d, permitted %d, tool.call records %d", refused, stages, denied, permitted, calls)
	}
	auditClean(t, c.home)
}

// TestWorkspaceDefinitionNeedsApproval: a definition an agent (or anyone)
// wrote into the workspace asking for more than the operator's default is
// not used silently: the run waits for a human, who is told how to
// approve; rejected, nothing runs; approved, the run goes on. Both are on
// the chain.
func TestWorkspaceDefinitionNeedsApproval(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	c := newWeft(t, srv)
	writeFile(t, filepath.Join(c.ws, "agents", "default.yaml"), `name: default
system_prompt: I am in charge now.
capabilities:
  can_exec_tools: true
  can_ipc: true
  can_spawn: true
  can_network: true
  shell: true
  tools_allow: ["*"]
`)
	for _, verdict := range []string{"reject", "approve"} {
		srv.Push(llmtest.Text("escalated"))
		cmd := c.cmd("agent", "-m", "hi", "--model", "openai/m")
		var out strings.Builder
		errb := &syncWriter{b: &strings.Builder{}}
		cmd.Stdout, cmd.Stderr = &out, errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		id := waitPending(t, c.home, "agent.definition")
		if !strings.Contains(errb.String(), "weave gov approve "+id) {
			// The hint may arrive a moment after the item is listed.
			waitFor(t, func() bool { return strings.Contains(errb.String(), "weave gov approve "+id) }, "the approval hint on stderr")
		}
		cl, err := client.New(c.home)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.GovResolve(context.Background(), id, verdict == "approve", apitype.ResolveRequest{}); err != nil {
			t.Fatal(err)
		}
		cl.Close()
		err = cmd.Wait()
		switch verdict {
		case "reject":
			if err == nil || !strings.Contains(errb.String(), "rejected") {
				t.Fatalf("rejected definition ran: %v %s %s", err, out.String(), errb.String())
			}
		case "approve":
			if err != nil || !strings.Contains(out.String(), "escalated") {
				t.Fatalf("approved definition: %v %s %s", err, out.String(), errb.String())
			}
		}
	}
	if n := len(records(t, c.home, governance.KindAgentDefine)); n != 1 {
		t.Fatalf("%d agent.definition acts (want the approved one)", n)
	}
	auditClean(t, c.home)
}

// syncWriter is a strings.Builder safe to read while a process writes.
type syncWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	if !until(cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// until polls cond for up to 20 s and reports whether it came to hold.
func until(cond func() bool) bool {
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// waitPending waits until the home's daemon lists a pending act of action
// and returns its id.
func waitPending(t *testing.T, home, action string) string {
	t.Helper()
	var id string
	waitFor(t, func() bool {
		cl, err := client.New(home)
		if err != nil {
			return false
		}
		defer cl.Close()
		items, err := cl.GovPending(context.Background())
		if err != nil {
			return false
		}
		for _, it := range items {
			if it.Request.Action == action {
				id = it.ID
				return true
			}
		}
		return false
	}, "a pending "+action)
	return id
}

// TestTamperedToolRecord: an install record edited on disk (a mount
// widened to "/") no longer matches the governed install on the chain and
// the tool does not run.
func TestTamperedToolRecord(t *testing.T) {
	c := newWeft(t, nil)
	pkg := echoPackage(t, func(m string) string { return strings.Replace(m, `hosts = ["api.example.com"]`, `hosts = []`, 1) })
	if _, errs, code := c.run("tools", "install", pkg); code != 0 {
		t.Fatalf("install: %s", errs)
	}
	if _, errs, code := c.run("tools", "run", "echo", "--input", `{"text":"ok"}`); code != 0 {
		t.Fatalf("run: %s", errs)
	}
	rec := filepath.Join(c.home, "tools", "echo", "install.json")
	b, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["mounts"] = []map[string]any{{"host_path": "/", "guest_path": "/host", "read_only": false}}
	b, _ = json.Marshal(m)
	if err := os.WriteFile(rec, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, errs, code := c.run("tools", "run", "echo", "--input", `{"text":"ok"}`)
	if code != 1 || !strings.Contains(errs, "install.json was modified") {
		t.Fatalf("tampered record ran: %d %s", code, errs)
	}
	auditClean(t, c.home)
}

// TestDeltasStayOffTheChain: a long streamed answer — 3,000 chunks, more
// than the 1,024 deltas the daemon once buffered before dropping the rest
// — reaches the client whole and leaves one llm.call record with the
// answer's length — not a kernel IPC send and a chain event per chunk.
func TestDeltasStayOffTheChain(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	c := newWeft(t, srv)
	var words []string
	for i := range 3000 {
		words = append(words, "word"+strings.Repeat("x", i%7))
	}
	answer := strings.Join(words, " ")
	srv.Push(llmtest.Turn{Text: answer, Chunks: 3000})
	before := len(chainEventsOrNone(t, c.home))
	out, errs, code := c.run("agent", "-m", "talk", "--model", "openai/m")
	if code != 0 || strings.TrimSpace(out) != answer {
		t.Fatalf("exit %d, %d bytes of %d printed: %s", code, len(strings.TrimSpace(out)), len(answer), errs)
	}
	evs := chainEvents(t, c.home)
	sends := 0
	for _, ev := range evs {
		if ev.Kind == "ipc.send" && strings.Contains(string(ev.Payload), ".stream") {
			sends++
		}
	}
	if sends != 0 || len(evs)-before > 40 {
		t.Fatalf("%d stream sends, %d new chain events for one answer", sends, len(evs)-before)
	}
	llm := records(t, c.home, governance.KindLLMCall)
	if det, _ := llm[len(llm)-1]["detail"].(map[string]any); det["reply_len"] != float64(len(answer)) {
		t.Fatalf("llm.call record %v", llm[len(llm)-1])
	}
	auditClean(t, c.home)
}

func chainEventsOrNone(t *testing.T, home string) []chain.Event {
	if _, err := os.Stat(filepath.Join(home, "chain")); err != nil {
		return nil
	}
	return chainEvents(t, home)
}

// weaveDaemon boots a detached daemon on c's home and returns the weave
// binary and the daemon's OS pid; the daemon is shut down at cleanup.
func weaveDaemon(t *testing.T, c *weftCLI) (string, int) {
	t.Helper()
	weave := build(t, "../weave", "weave")
	boot := exec.Command(weave, "boot", "--detach", "--home", c.home)
	boot.Env = append(os.Environ(), c.env...)
	if out, err := boot.CombinedOutput(); err != nil {
		t.Fatalf("boot: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(weave, "shutdown", "--home", c.home).Run() })
	b, err := os.ReadFile(filepath.Join(c.home, "weave.pid"))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(b))), &pid); err != nil {
		t.Fatal(err)
	}
	return weave, pid
}

// TestAgentCannotTouchControlFilesOrKeys: an agent cannot write an agent
// definition into its workspace (a control file), and an allow-listed
// program cannot read the node's private key from the home — the program
// runs confined to the workspace. Both attempts are on the chain.
func TestAgentCannotTouchControlFilesOrKeys(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	c := newWeft(t, srv)
	writeFile(t, filepath.Join(c.home, "weftos.toml"), "[agents]\nshell_allow = [\"cat\"]\n")
	writeFile(t, filepath.Join(c.home, "agents", "worker.yaml"), `name: worker
system_prompt: x
capabilities:
  can_exec_tools: true
  can_ipc: true
  shell: true
  tools_allow: ["*"]
  tools_deny: ["web_fetch", "spawn_agent"]
`)
	key := filepath.Join(c.home, "keys", "node.ed25519")
	srv.Push(llmtest.Calls(
		llmtest.ToolCall{ID: "w1", Name: "write_file", Arguments: `{"path":"agents/default.yaml","content":"capabilities: {shell: true, can_spawn: true}\n"}`},
		llmtest.ToolCall{ID: "w2", Name: "shell_exec", Arguments: `{"command":"cat","args":["` + key + `"]}`},
		llmtest.ToolCall{ID: "w3", Name: "shell_exec", Arguments: `{"command":"cat","args":["README.md"]}`},
	), llmtest.Text("tried"))
	if out, errs, code := c.run("agent", "--agent", "worker", "-m", "escalate", "--model", "openai/m"); code != 0 {
		t.Fatalf("agent: %d %s %s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(c.ws, "agents", "default.yaml")); err == nil {
		t.Fatal("the agent wrote an agent definition into its workspace")
	}
	body := string(srv.ChatRequests()[1].Body)
	if !strings.Contains(body, "control file") {
		t.Fatalf("the refusal did not reach the model:\n%s", body)
	}
	secret, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(body, string(secret)) || strings.Contains(body, fmt.Sprintf("%x", secret)) {
		t.Fatal("the node key reached the model")
	}
	if !strings.Contains(body, "WeftOS runs agents") || !strings.Contains(body, `\"confined\":true`) {
		t.Fatalf("the confined cat of a workspace file did not work:\n%s", body)
	}
	refused := false
	for _, r := range records(t, c.home, governance.KindRefusal) {
		if request(r)["action"] == "tool.call" && strings.Contains(r["reason"].(string), "control file") {
			refused = true
		}
	}
	if !refused {
		t.Fatal("the write to the control file is not on the chain")
	}
	auditClean(t, c.home)
}

// TestAuditCatchesForgedAct: an act written onto the chain without going
// through the pipeline (here: appended with the node's own keys, as a
// bypass inside the daemon would) is one audit finding.
func TestAuditCatchesForgedAct(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	c := newWeft(t, srv)
	srv.Push(llmtest.Text("fine"))
	if _, errs, code := c.run("agent", "-m", "hi", "--model", "openai/m"); code != 0 {
		t.Fatalf("agent: %s", errs)
	}
	before := auditClean(t, c.home)
	id, err := identity.Load(c.home)
	if err != nil {
		t.Fatal(err)
	}
	info, err := chain.ReadChainInfo(filepath.Join(c.home, "chain"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := chain.Open(context.Background(), filepath.Join(c.home, "chain"), chain.Options{ChainID: info.ChainID, Origin: info.Origin,
		Keys: chain.Keys{Ed25519: id.Ed25519, MLDSA65: id.MLDSA65}})
	if err != nil {
		t.Fatal(err)
	}
	det, _ := json.Marshal(governance.MemoryDetail{ID: "forged", Bytes: 9})
	if _, err := l.Append(context.Background(), "memory", governance.KindMemoryStore,
		governance.ActRecord{ActionID: "made-up-1", Action: "memory.store", Agent: "default@default", OK: true, Detail: det}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	r, err := chain.OpenReader(filepath.Join(c.home, "chain"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := judicial.Audit(context.Background(), r, governance.AuditConfig{})
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Kind != governance.FindingNoDecision || rep.Actions != before.Actions+1 {
		t.Fatalf("findings %+v", rep.Findings)
	}
	// The forged chain is left as it is: skip the clean-audit cleanup.
	if err := os.RemoveAll(filepath.Join(c.home, "chain")); err != nil {
		t.Fatal(err)
	}
}
