package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/cmdline"
)

const guardedRule = `[[rule]]
id = "guarded-spawns"
description = "spawning a guarded agent needs a human"
branch = "executive"
severity = "critical"
outcome = "defer"
[rule.when]
actions = ["agent.spawn"]
context = { name = ["guarded-*"] }
`

// TestGovernanceAndChain: a rule amended from the CLI defers a spawn; the
// spawn waits, is approved from the CLI and runs; another is rejected; the
// audit is clean and the chain verifies with the daemon up and down, and a
// flipped byte is caught.
func TestGovernanceAndChain(t *testing.T) {
	c := &cli{t: t, bin: buildWeave(t), home: filepath.Join(t.TempDir(), "home")}
	c.ok("boot", "--detach")
	t.Cleanup(func() { c.run("shutdown") })
	if _, err := os.Stat(filepath.Join(c.home, "constitution.toml")); err != nil {
		t.Fatalf("no constitution written on first boot: %v", err)
	}
	if out := c.ok("gov", "check", "--action", "tool.shell.exec", "--agent", "bob"); !strings.Contains(out, "deny") || !strings.Contains(out, "shell-requires-capability") {
		t.Fatalf("gov check:\n%s", out)
	}
	c.fail(cmdline.ExitUsage, "--effect", "gov", "check", "--action", "x", "--effect", "risk=7")

	rule := filepath.Join(t.TempDir(), "rule.toml")
	if err := os.WriteFile(rule, []byte(guardedRule), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := c.ok("gov", "amend", "--file", rule); !strings.Contains(out, "guarded-spawns") {
		t.Fatalf("amend: %s", out)
	}
	if out := c.ok("gov", "rules"); !strings.Contains(out, "guarded-spawns") {
		t.Fatalf("rules after amend:\n%s", out)
	}

	// The deferred spawn blocks until approved.
	spawn := func(name string) (*exec.Cmd, *bytes.Buffer, chan error) {
		cmd := exec.Command(c.bin, "agent", "spawn", name, "--home", c.home)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		return cmd, &out, done
	}
	waitPending := func(name string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			var items []struct {
				ID      string
				Request struct {
					Context struct{ Extra map[string]string }
				}
			}
			c.jsonOut(&items, "gov", "pending")
			for _, it := range items {
				if it.Request.Context.Extra["name"] == name {
					return it.ID
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no pending action for %s", name)
		return ""
	}
	_, out, done := spawn("guarded-1")
	id := waitPending("guarded-1")
	select {
	case err := <-done:
		t.Fatalf("deferred spawn finished before approval: %v %s", err, out)
	default:
	}
	c.ok("gov", "approve", id)
	if err := <-done; err != nil {
		t.Fatalf("approved spawn failed: %v %s", err, out)
	}
	if ps := c.ok("ps"); !strings.Contains(ps, "guarded-1") {
		t.Fatalf("approved agent not running:\n%s", ps)
	}
	_, out, done = spawn("guarded-2")
	id = waitPending("guarded-2")
	c.ok("gov", "reject", id, "--reason", "not today")
	if err := <-done; err == nil || !strings.Contains(out.String(), "denied") {
		t.Fatalf("rejected spawn: %v %s", err, out)
	}
	c.fail(cmdline.ExitError, "", "gov", "approve", "no-such-id")

	// Capability elevation is a governed action, recorded on the chain.
	pid := strings.TrimSpace(c.ok("agent", "spawn", "plain"))
	if out := c.ok("agent", "grant", pid, "--can-network"); !strings.Contains(out, "can_network") {
		t.Fatalf("grant: %s", out)
	}
	var info struct {
		Caps struct {
			CanNetwork bool `json:"can_network"`
		} `json:"capabilities"`
	}
	c.jsonOut(&info, "agent", "inspect", pid)
	if !info.Caps.CanNetwork {
		t.Fatal("grant did not take effect")
	}
	// Switching the environment is governed too, and persisted.
	if out := c.ok("gov", "env", "staging"); !strings.Contains(out, "staging") || !strings.Contains(out, "0.6") {
		t.Fatalf("gov env staging: %s", out)
	}
	if cfg, _ := os.ReadFile(filepath.Join(c.home, "weftos.toml")); !strings.Contains(string(cfg), `environment = "staging"`) {
		t.Fatal("environment not saved to weftos.toml")
	}
	c.fail(cmdline.ExitError, "", "gov", "env", "moon")

	var rep struct {
		Findings   []any
		Decisions  int
		Amendments int
	}
	c.jsonOut(&rep, "gov", "audit")
	if len(rep.Findings) != 0 || rep.Amendments != 2 || rep.Decisions < 3 {
		t.Fatalf("audit: %+v", rep)
	}

	// The chain holds the decisions, the amendment and the spawn.
	tail := c.ok("chain", "tail", "-n", "200")
	for _, want := range []string{"governance.decision", "governance.amendment", "governance.resolution", "process.spawn", "guarded-spawns", "process.elevate", "capability.elevate"} {
		if !strings.Contains(tail, want) {
			t.Fatalf("chain tail lacks %s:\n%s", want, tail)
		}
	}
	if out := c.ok("chain", "prove", "1"); !strings.Contains(out, "signatures (Ed25519, ML-DSA-65) verified") {
		t.Fatalf("prove: %s", out)
	}
	c.ok("chain", "verify")

	// tail -f follows new events as they are appended.
	follow := exec.Command(c.bin, "chain", "tail", "-f", "-n", "1", "--kind", "process.spawn", "--home", c.home)
	pipe, err := follow.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	followed := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			followed <- sc.Text()
		}
		close(followed)
	}()
	c.ok("agent", "spawn", "followed-agent")
	timeout := time.After(10 * time.Second)
	for seen := false; !seen; {
		select {
		case l, ok := <-followed:
			if !ok {
				t.Fatal("tail -f ended")
			}
			seen = strings.Contains(l, "followed-agent")
		case <-timeout:
			t.Fatal("tail -f did not show the new spawn")
		}
	}
	_ = follow.Process.Kill()
	_ = follow.Wait()
	c.ok("shutdown")

	// Offline: the read-only commands work without a daemon.
	var st struct {
		Length      uint64
		Checkpoints uint64
	}
	c.jsonOut(&st, "chain", "status")
	if st.Length < 10 || st.Checkpoints == 0 {
		t.Fatalf("offline status %+v", st)
	}
	c.ok("chain", "show", "0")
	c.ok("chain", "keys")
	c.ok("chain", "prove", "2")
	c.ok("chain", "consistency", "3", "8")
	export := filepath.Join(t.TempDir(), "export.jsonl")
	c.ok("chain", "export", "-o", export)
	c.ok("chain", "verify", "--export", export)
	c.ok("chain", "verify")

	// Tamper with an event's payload in the export: named at its seq.
	data, err := os.ReadFile(export)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(data, []byte("\n"))
	for i, l := range lines {
		var ev struct {
			Type string
			Seq  uint64
			Kind string
		}
		if json.Unmarshal(l, &ev) == nil && ev.Type == "event" && ev.Kind == "process.spawn" {
			lines[i] = bytes.Replace(l, []byte(`"guarded-1"`), []byte(`"guarded-X"`), 1)
			break
		}
	}
	if err := os.WriteFile(export, bytes.Join(lines, []byte("\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	c.fail(cmdline.ExitError, "edited-payload", "chain", "verify", "--export", export)

	// Flip one byte in the middle of a segment file.
	segs, _ := filepath.Glob(filepath.Join(c.home, "chain", "*.seg"))
	if len(segs) == 0 {
		segs, _ = filepath.Glob(filepath.Join(c.home, "chain", "*", "*.seg"))
	}
	if len(segs) == 0 {
		t.Fatal("no segment files")
	}
	seg, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	seg[len(seg)/2] ^= 0x40
	if err := os.WriteFile(segs[0], seg, 0o600); err != nil {
		t.Fatal(err)
	}
	c.fail(cmdline.ExitError, "at seq", "chain", "verify")
}

const noKillRule = `
[[rule]]
id = "protected-processes"
description = "protected processes cannot be killed"
branch = "executive"
severity = "critical"
outcome = "deny"
[rule.when]
actions = ["process.kill"]
context = { target_name = ["protected-*"] }
`

// TestConstitutionFileEdit: a hand edit of constitution.toml is not adopted
// at boot — the node runs on the constitution adopted on the chain, says
// so, and proposes the edit as a pending amendment; once a human approves
// it, it is in force (here: an operator kill of a protected process is
// denied). The whole history audits clean.
func TestConstitutionFileEdit(t *testing.T) {
	c := &cli{t: t, bin: buildWeave(t), home: filepath.Join(t.TempDir(), "home")}
	c.ok("boot", "--detach")
	t.Cleanup(func() { c.run("shutdown") })
	c.ok("shutdown")
	path := filepath.Join(c.home, "constitution.toml")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(noKillRule); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c.ok("boot", "--detach")
	if out := c.ok("gov", "rules"); strings.Contains(out, "protected-processes") {
		t.Fatalf("a hand edit was adopted at boot:\n%s", out)
	}
	if out := c.ok("status"); !strings.Contains(out, "degraded") || !strings.Contains(out, "constitution.toml differs") {
		t.Fatalf("status does not say the file is not in force:\n%s", out)
	}
	pid := strings.TrimSpace(c.ok("agent", "spawn", "protected-1"))
	var id string
	deadline := time.Now().Add(30 * time.Second)
	for id == "" && time.Now().Before(deadline) {
		var items []struct {
			ID      string
			Request struct {
				Action  string
				Context struct{ Extra map[string]string }
			}
		}
		c.jsonOut(&items, "gov", "pending")
		for _, it := range items {
			if it.Request.Action == "constitution.amend" && it.Request.Context.Extra["origin"] == "file" {
				id = it.ID
			}
		}
		if id == "" {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if id == "" {
		t.Fatal("the edit was not proposed")
	}
	c.ok("gov", "approve", id)
	deadline = time.Now().Add(30 * time.Second)
	for !strings.Contains(c.ok("gov", "rules"), "protected-processes") {
		if time.Now().After(deadline) {
			t.Fatal("the approved edit is not in force")
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.fail(cmdline.ExitError, "denied", "agent", "kill", pid)
	if ps := c.ok("ps"); !strings.Contains(ps, "protected-1") {
		t.Fatalf("a denied kill killed:\n%s", ps)
	}
	if out := c.ok("status"); strings.Contains(out, "differs") {
		t.Fatalf("status after adoption:\n%s", out)
	}
	c.ok("shutdown")
	c.ok("boot", "--detach")
	var pending []any
	c.jsonOut(&pending, "gov", "pending")
	if len(pending) != 0 || !strings.Contains(c.ok("gov", "rules"), "protected-processes") {
		t.Fatalf("after a restart: pending %v", pending)
	}
	if out := c.ok("gov", "audit"); !strings.Contains(out, "findings: none") {
		t.Fatalf("audit:\n%s", out)
	}
}
