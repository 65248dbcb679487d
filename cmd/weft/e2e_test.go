package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

func build(t *testing.T, pkg, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds binaries")
	}
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build %s: %v", pkg, err)
	}
	return bin
}

type weftCLI struct {
	t        *testing.T
	bin      string
	home, ws string
	env      []string
}

func (c *weftCLI) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(c.bin, append(args, "--home", c.home)...)
	cmd.Dir = c.ws
	cmd.Env = append(os.Environ(), c.env...)
	return cmd
}

func (c *weftCLI) run(args ...string) (string, string, int) {
	c.t.Helper()
	cmd := c.cmd(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// chainKinds reads the home's chain (offline) and counts events by kind,
// returning the events too.
func chainEvents(t *testing.T, home string) []chain.Event {
	t.Helper()
	r, err := chain.OpenReader(filepath.Join(home, "chain"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []chain.Event
	for ev, err := range r.Events(0, r.Len()) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func newWeft(t *testing.T, srv *llmtest.Server) *weftCLI {
	t.Helper()
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "README.md"), []byte("# Demo\nWeftOS runs agents as kernel processes.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &weftCLI{t: t, bin: build(t, ".", "weft"), home: filepath.Join(t.TempDir(), "home"), ws: ws,
		env: []string{"OPENAI_API_KEY=", "ANTHROPIC_API_KEY=", "ANTHROPIC_BASE_URL=", "OPENAI_BASE_URL="}}
	if srv != nil {
		c.env = append(c.env, "OPENAI_BASE_URL="+srv.URL, "OPENAI_API_KEY=sk-test-key")
	}
	// Whatever the test did, the chain it left must audit clean: every
	// act paired with its decision, nothing run that was refused, no
	// unregistered kind (the Judicial branch, as `weave gov audit` runs it
	// offline). Cleanups run last-in first-out, so any daemon the test
	// started is down by then.
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(c.home, "chain", "keys.json")); err == nil && !t.Failed() {
			auditClean(t, c.home)
		}
	})
	return c
}

// TestAgentEndToEnd: with no daemon running, weft boots the kernel
// in-process; a scripted model asks for read_file, the tool runs, the
// answer is printed, and the chain shows the LLM calls, the governance
// decision and the tool call.
func TestAgentEndToEnd(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{APIKey: "sk-test-key"})
	defer srv.Close()
	srv.Push(llmtest.Calls(llmtest.ToolCall{ID: "call_1", Name: "read_file", Arguments: `{"path":"README.md"}`}),
		llmtest.Text("WeftOS runs agents as kernel processes."))
	c := newWeft(t, srv)
	out, errs, code := c.run("agent", "-m", "Summarise README.md", "--model", "openai/test-model")
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	if strings.TrimSpace(out) != "WeftOS runs agents as kernel processes." {
		t.Fatalf("answer %q", out)
	}
	if v := srv.Violations(); len(v) != 0 {
		t.Fatalf("requests the real API would reject: %v", v)
	}
	reqs := srv.ChatRequests()
	if len(reqs) != 2 || !strings.Contains(string(reqs[1].Body), "kernel processes") {
		t.Fatalf("the tool result did not reach the model: %d requests", len(reqs))
	}
	kinds := map[string]int{}
	var toolCall map[string]any
	for _, ev := range chainEvents(t, c.home) {
		kinds[ev.Kind]++
		if ev.Kind == "tool.call" {
			_ = json.Unmarshal(ev.Payload, &toolCall)
		}
		if strings.Contains(string(ev.Payload), "sk-test-key") {
			t.Fatalf("the API key reached the chain: %s", ev.Payload)
		}
	}
	if kinds["llm.call"] != 2 || kinds["tool.call"] != 1 || kinds["governance.decision"] < 2 {
		t.Fatalf("chain kinds %v", kinds)
	}
	if det, _ := toolCall["detail"].(map[string]any); det["tool"] != "read_file" || toolCall["action"] != "fs.read" || toolCall["action_id"] == "" || toolCall["ok"] != true {
		t.Fatalf("tool.call record %v", toolCall)
	}
	// The read was inside the agent's workspace: no privacy/security raise.
	for _, ev := range chainEvents(t, c.home) {
		if ev.Kind != "governance.decision" || !strings.Contains(string(ev.Payload), `"fs.read"`) {
			continue
		}
		var d struct {
			Decision struct {
				Effect struct{ Privacy, Security float64 }
			}
		}
		if err := json.Unmarshal(ev.Payload, &d); err != nil {
			t.Fatal(err)
		}
		if d.Decision.Effect.Security != 0 || d.Decision.Effect.Privacy > 0.2 {
			t.Fatalf("a read inside the workspace was treated as outside it: %s", ev.Payload)
		}
	}
	// The session continues across runs.
	srv.Push(llmtest.Text("You asked me to summarise README.md."))
	out, errs, code = c.run("agent", "-m", "What did I ask?", "--model", "openai/test-model")
	if code != 0 || !strings.Contains(out, "summarise") {
		t.Fatalf("second run: %d %s %s", code, out, errs)
	}
	last := srv.ChatRequests()[2]
	if !strings.Contains(string(last.Body), "Summarise README.md") {
		t.Fatal("the session history was not sent")
	}
}

func TestNoProvider(t *testing.T) {
	c := newWeft(t, nil)
	_, errs, code := c.run("agent", "-m", "hi")
	if code != 2 || !strings.Contains(errs, "OPENAI_API_KEY") || !strings.Contains(errs, "OPENAI_BASE_URL") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Fatalf("not one line: %q", errs)
	}
}

// TestResumeAfterKill: weft is killed after a tool call completed and
// before the model answered; --resume continues without running the tool
// again.
func TestResumeAfterKill(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	srv.Push(llmtest.Calls(llmtest.ToolCall{ID: "call_w", Name: "write_file", Arguments: `{"path":"notes.txt","content":"step one"}`}),
		llmtest.Turn{Hang: true})
	c := newWeft(t, srv)
	cmd := c.cmd("agent", "-m", "write a note", "--model", "openai/m", "--session", "work")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for srv.Served() < 2 { // the second model request arrives after the tool completed
		if time.Now().After(deadline) {
			t.Fatalf("the agent never got to its second model call: %s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if b, err := os.ReadFile(filepath.Join(c.ws, "notes.txt")); err != nil || string(b) != "step one" {
		t.Fatalf("tool effect: %q %v", b, err)
	}
	// A new message is refused until the interrupted run is resumed.
	_, errs, code := c.run("agent", "-m", "next", "--model", "openai/m", "--session", "work")
	if code != 1 || !strings.Contains(errs, "--resume") {
		t.Fatalf("new message on an interrupted session: %d %q", code, errs)
	}
	srv.Push(llmtest.Text("Note written."))
	got, errs, code := c.run("agent", "--resume", "--model", "openai/m", "--session", "work")
	if code != 0 || strings.TrimSpace(got) != "Note written." {
		t.Fatalf("resume: %d %q %q", code, got, errs)
	}
	writes := 0
	for _, ev := range chainEvents(t, c.home) {
		if ev.Kind == "tool.call" && strings.Contains(string(ev.Payload), "call_w") {
			writes++
		}
	}
	if writes != 1 {
		t.Fatalf("write_file ran %d times", writes)
	}
	reqs := srv.ChatRequests()
	if last := reqs[len(reqs)-1]; !strings.Contains(string(last.Body), "call_w") {
		t.Fatal("the resumed request lacks the completed tool result")
	}
}

// TestAgentInDaemon: with a daemon running, the agent runs there and is a
// process `weave ps` lists.
func TestAgentInDaemon(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	srv.Push(llmtest.Text("Hello from the daemon."))
	c := newWeft(t, srv)
	weave := build(t, "../weave", "weave")
	boot := exec.Command(weave, "boot", "--detach", "--home", c.home)
	boot.Env = append(os.Environ(), c.env...)
	if out, err := boot.CombinedOutput(); err != nil {
		t.Fatalf("boot: %v %s", err, out)
	}
	defer exec.Command(weave, "shutdown", "--home", c.home).Run()
	out, errs, code := c.run("agent", "-m", "hi", "--model", "openai/m", "--session", "s1")
	if code != 0 || strings.TrimSpace(out) != "Hello from the daemon." {
		t.Fatalf("agent: %d %q %q", code, out, errs)
	}
	// The run's agent was a process of that daemon; a one-shot run's agent
	// does not linger afterwards.
	ps, err := exec.Command(weave, "ps", "--all", "--home", c.home).CombinedOutput()
	if err != nil || !strings.Contains(string(ps), "default@s1") || !strings.Contains(string(ps), "exited(0)") {
		t.Fatalf("weave ps --all:\n%s %v", ps, err)
	}
	if ps, _ := exec.Command(weave, "ps", "--home", c.home).CombinedOutput(); strings.Contains(string(ps), "default@s1") {
		t.Fatalf("a one-shot run left its agent behind:\n%s", ps)
	}
	sessions, _, _ := c.run("sessions", "list")
	if !strings.Contains(sessions, "s1") || !strings.Contains(sessions, "completed") {
		t.Fatalf("sessions list:\n%s", sessions)
	}
	show, _, _ := c.run("sessions", "show", "s1")
	if !strings.Contains(show, "Hello from the daemon.") {
		t.Fatalf("sessions show:\n%s", show)
	}
	if _, errs, code := c.run("sessions", "rm", "s1"); code != 0 {
		t.Fatalf("sessions rm: %s", errs)
	}
	if _, _, code := c.run("sessions", "show", "s1"); code != 1 {
		t.Fatalf("show after rm: exit %d", code)
	}
	// Removing it again is refused (on the chain) and says plainly why.
	if _, errs, code := c.run("sessions", "rm", "s1"); code != 1 || errs != "weft: session: no such session: \"s1\"\n" {
		t.Fatalf("rm of a removed session: exit %d, %q", code, errs)
	}
}

// TestREPLAgentDefinitionAndSkills: the interactive loop with slash
// commands, an agent defined in agents/NAME.yaml whose tool list and
// capabilities shape what the model is offered, and a skill in its prompt.
func TestREPLAgentDefinitionAndSkills(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	c := newWeft(t, srv)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(c.ws, "agents"), 0o700))
	must(os.WriteFile(filepath.Join(c.ws, "agents", "reviewer.yaml"), []byte(`name: reviewer
description: Reviews files
model: openai/review-model
system_prompt: You review code carefully.
tools: [read_file, list_dir]
skills: [style]
max_turns: 4
capabilities:
  can_exec_tools: true
  can_ipc: true
`), 0o600))
	must(os.MkdirAll(filepath.Join(c.ws, "skills", "style"), 0o700))
	must(os.WriteFile(filepath.Join(c.ws, "skills", "style", "SKILL.md"), []byte("---\nname: style\ndescription: House style\nallowed-tools: read_file\n---\nPrefer short functions.\n"), 0o600))

	skills, errs, code := c.run("skills", "list")
	if code != 0 || !strings.Contains(skills, "style") || !strings.Contains(skills, "House style") {
		t.Fatalf("skills list: %d %s %s", code, skills, errs)
	}
	srv.Push(llmtest.Text("first answer"), llmtest.Text("second answer"))
	cmd := c.cmd("agent", "--agent", "reviewer", "--session", "rev")
	cmd.Stdin = strings.NewReader("hello\n/tools\n/model openai/other\nagain\n/bogus\n/exit\n")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("repl: %v\n%s\n%s", err, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "first answer") || !strings.Contains(out.String(), "second answer") {
		t.Fatalf("repl output %q\nstderr %s", out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "read_file") || !strings.Contains(errb.String(), "list_dir") || strings.Contains(errb.String(), "write_file") {
		t.Fatalf("/tools listing: %s", errb.String())
	}
	if !strings.Contains(errb.String(), "unknown command /bogus") {
		t.Fatalf("unknown slash command not reported: %s", errb.String())
	}
	reqs := srv.ChatRequests()
	if len(reqs) != 2 {
		t.Fatalf("%d model requests", len(reqs))
	}
	first, second := reqs[0].Map(), reqs[1].Map()
	if first["model"] != "review-model" || second["model"] != "other" {
		t.Fatalf("models %v, %v", first["model"], second["model"])
	}
	body := string(reqs[0].Body)
	for _, want := range []string{"You review code carefully.", "Prefer short functions.", `"read_file"`, `"list_dir"`} {
		if !strings.Contains(body, want) {
			t.Fatalf("first request lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, `"write_file"`) || strings.Contains(body, `"shell_exec"`) {
		t.Fatalf("the model was offered tools the definition does not list:\n%s", body)
	}
	if _, errs, code := c.run("agent", "--agent", "nobody", "-m", "x"); code == 0 || !strings.Contains(errs, "nobody") {
		t.Fatalf("unknown agent: %d %s", code, errs)
	}
}

// TestSpawnAgentTool: an agent allowed to spawn starts a child agent with a
// task through the spawn_agent tool; the child is a kernel process whose
// parent is the calling agent, and the spawn is governed and recorded.
func TestSpawnAgentTool(t *testing.T) {
	// The parent and the child it spawns call the model concurrently: each
	// is answered by what it asked, not by arrival order.
	srv := llmtest.NewOpenAI(llmtest.Options{Handler: func(r llmtest.Request) llmtest.Turn {
		msgs, _ := r.Map()["messages"].([]any)
		switch {
		case countRole(msgs, "tool") > 0:
			return llmtest.Text("Delegated.")
		case strings.Contains(lastUser(r), "count to three"):
			return llmtest.Text("one two three")
		default:
			return llmtest.Calls(llmtest.ToolCall{ID: "s1", Name: "spawn_agent", Arguments: `{"name":"helper","task":"count to three"}`})
		}
	}})
	defer srv.Close()
	c := newWeft(t, srv)
	// The operator's own definition (in the home): trusted as written.
	if err := os.MkdirAll(filepath.Join(c.home, "agents"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.home, "agents", "lead.yaml"), []byte(`name: lead
system_prompt: You delegate.
tools: [spawn_agent]
capabilities:
  can_spawn: true
  can_ipc: true
  can_exec_tools: true
  ipc_scope: all
  tools_allow: ["*"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errs, code := c.run("agent", "--agent", "lead", "-m", "delegate", "--model", "openai/m")
	if code != 0 || !strings.Contains(out, "Delegated.") {
		t.Fatalf("exit %d %q %q", code, out, errs)
	}
	var spawn map[string]any
	for _, ev := range chainEvents(t, c.home) {
		if ev.Kind == "process.spawn" && strings.Contains(string(ev.Payload), `"name":"helper"`) {
			_ = json.Unmarshal(ev.Payload, &spawn)
		}
	}
	if spawn == nil || spawn["agent"] != "lead@default" || spawn["action_id"] == "" {
		for _, ev := range chainEvents(t, c.home) {
			if ev.Kind == "tool.call" || ev.Kind == "process.spawn" {
				t.Logf("%s %s", ev.Kind, ev.Payload)
			}
		}
		t.Fatalf("child spawn record %v", spawn)
	}
}

// TestMemoryAcrossSessions: an agent stores a fact in one session; in the
// next session the fact is recalled into its context, and the store is a
// chain event whose seq the record carries.
func TestMemoryAcrossSessions(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	c := newWeft(t, srv)
	fact := "The staging database password rotates every Friday at noon."
	srv.Push(llmtest.Calls(llmtest.ToolCall{ID: "m1", Name: "memory_store", Arguments: `{"text":"` + fact + `"}`}), llmtest.Text("Noted."))
	if out, errs, code := c.run("agent", "-m", "remember: "+fact, "--model", "openai/m", "--session", "monday"); code != 0 || !strings.Contains(out, "Noted.") {
		t.Fatalf("first session: %d %s %s", code, out, errs)
	}
	srv.Push(llmtest.Text("Every Friday at noon."))
	if out, errs, code := c.run("agent", "-m", "When does the staging database password rotate?", "--model", "openai/m", "--session", "tuesday"); code != 0 || !strings.Contains(out, "Friday") {
		t.Fatalf("second session: %d %s %s", code, out, errs)
	}
	reqs := srv.ChatRequests()
	last := reqs[len(reqs)-1]
	var body struct {
		Messages []struct {
			Role    string
			Content any
		}
	}
	if err := last.Decode(&body); err != nil {
		t.Fatal(err)
	}
	if sys, _ := body.Messages[0].Content.(string); body.Messages[0].Role != "system" || !strings.Contains(sys, fact) || !strings.Contains(sys, "Relevant memories") {
		t.Fatalf("the fact was not recalled into the new session's context: %+v", body.Messages[0])
	}
	for _, m := range body.Messages[1:] {
		if s, _ := m.Content.(string); strings.Contains(s, "remember:") {
			t.Fatal("the new session carries the old session's history")
		}
	}
	stores, searches := 0, 0
	for _, ev := range chainEvents(t, c.home) {
		switch {
		case ev.Kind == "memory.store" && strings.Contains(string(ev.Payload), `"agent":"default@monday"`) && strings.Contains(string(ev.Payload), `"ok":true`):
			stores++
		case ev.Kind == "memory.search" && strings.Contains(string(ev.Payload), `"agent":"default@tuesday"`):
			searches++
		}
	}
	// The store is an act on the chain; so is the recall that read it back.
	if stores != 1 || searches < 1 {
		t.Fatalf("%d memory.store and %d memory.search events", stores, searches)
	}
}
