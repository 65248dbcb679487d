package main

import (
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

// buildWeave compiles the weave binary once per test binary run.
func buildWeave(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "weave")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

type cli struct {
	t    *testing.T
	bin  string
	home string
}

// run executes weave with --home and returns stdout, stderr and the exit
// code.
func (c *cli) run(args ...string) (string, string, int) {
	c.t.Helper()
	cmd := exec.Command(c.bin, append(args, "--home", c.home)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("weave %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// ok runs a command that must succeed.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, errs, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("weave %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// fail runs a command that must fail with the given exit code and a
// one-line error containing want.
func (c *cli) fail(code int, want string, args ...string) {
	c.t.Helper()
	out, errs, got := c.run(args...)
	if got != code {
		c.t.Fatalf("weave %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, out, errs)
	}
	if !strings.Contains(errs, want) {
		c.t.Fatalf("weave %s: stderr %q does not contain %q", strings.Join(args, " "), errs, want)
	}
	if code == cmdline.ExitError && strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		c.t.Fatalf("weave %s: error is not one line: %q", strings.Join(args, " "), errs)
	}
}

func (c *cli) jsonOut(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("weave %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestEndToEnd(t *testing.T) {
	c := &cli{t: t, bin: buildWeave(t), home: filepath.Join(t.TempDir(), "home")}
	c.fail(cmdline.ExitError, "no weave daemon is running", "status")
	c.ok("boot", "--detach")
	t.Cleanup(func() { c.run("shutdown") })

	// First boot created the home, the config and the identity.
	for _, f := range []string{"weftos.toml", "keys/node.ed25519", "keys/node.mldsa65", "weave.sock", "weave.pid"} {
		st, err := os.Stat(filepath.Join(c.home, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if f != "weftos.toml" && st.Mode().Perm()&0o077 != 0 {
			t.Fatalf("%s has mode %v", f, st.Mode())
		}
	}
	c.fail(cmdline.ExitError, "another weave daemon is running", "boot")

	var st struct {
		NodeID    string `json:"node_id"`
		Processes int    `json:"processes"`
		Health    struct{ Status string }
	}
	c.jsonOut(&st, "status")
	if !strings.HasPrefix(st.NodeID, "n") || st.Processes != 1 || st.Health.Status != "healthy" {
		t.Fatalf("status = %+v", st)
	}

	pid := strings.TrimSpace(c.ok("agent", "spawn", "alpha"))
	restricted := strings.TrimSpace(c.ok("agent", "spawn", "beta", "--scope", "restricted("+pid+")"))
	ps := c.ok("ps")
	for _, want := range []string{"PID", "PARENT", "IPC SCOPE", "TOOL CALLS", "alpha", "beta", "restricted(" + pid + ")"} {
		if !strings.Contains(ps, want) {
			t.Fatalf("ps lacks %q:\n%s", want, ps)
		}
	}
	c.ok("ipc", "send", pid, "hello")
	c.ok("ipc", "send", pid, `{"n":1}`, "--payload", "json")
	var info struct {
		MsgsRecv uint64 `json:"messages_received"`
		Detail   struct {
			Received uint64 `json:"received"`
		} `json:"detail"`
	}
	deadline := time.Now().Add(5 * time.Second)
	for info.Detail.Received < 2 && time.Now().Before(deadline) {
		c.jsonOut(&info, "agent", "inspect", pid)
	}
	if info.Detail.Received != 2 {
		t.Fatalf("mailbox received %d messages", info.Detail.Received)
	}
	// The kernel answers the Kernel target.
	var ks struct {
		Reply struct {
			Payload struct {
				JSON struct {
					OK        bool
					Processes []struct{ Name string }
				} `json:"json"`
			} `json:"payload"`
		} `json:"reply"`
	}
	c.jsonOut(&ks, "ipc", "send", "kernel", `{"op":"ps"}`)
	if !ks.Reply.Payload.JSON.OK || len(ks.Reply.Payload.JSON.Processes) != 3 {
		t.Fatalf("kernel ps = %+v", ks)
	}
	// Scope is enforced on sends from a process.
	c.fail(cmdline.ExitError, "scope", "ipc", "send", "0", "x", "--from", restricted)

	// Topics: a subscriber sees what is published.
	sub := exec.Command(c.bin, "ipc", "subscribe", "news", "--count", "1", "--home", c.home)
	var subOut bytes.Buffer
	sub.Stdout = &subOut
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- sub.Wait() }()
	// Until the subscriber is attached, publishes are dead letters: publish
	// until it has received one and exited.
	deadline = time.Now().Add(10 * time.Second)
	for received := false; !received; {
		c.ok("ipc", "publish", "news", "extra!")
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("subscriber: %v", err)
			}
			received = true
		case <-time.After(50 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("subscriber received nothing")
			}
		}
	}
	if !strings.Contains(subOut.String(), "extra!") {
		t.Fatalf("subscriber got %q", subOut.String())
	}

	c.fail(cmdline.ExitError, "no such process", "ipc", "send", "4242", "x")
	if dlq := c.ok("ipc", "dlq"); !strings.Contains(dlq, "process:4242") {
		t.Fatalf("dlq:\n%s", dlq)
	}
	c.ok("agent", "suspend", pid)
	c.fail(cmdline.ExitError, "illegal transition suspended → suspended", "agent", "suspend", pid)
	c.ok("agent", "resume", pid)
	c.fail(cmdline.ExitError, "no such process", "agent", "stop", "4242")
	c.fail(cmdline.ExitUsage, "not a PID", "agent", "stop", "abc")
	c.fail(cmdline.ExitUsage, "unknown command", "frobnicate")

	if out := c.ok("service", "list"); !strings.Contains(out, "kernel") || !strings.Contains(out, "healthy") {
		t.Fatalf("service list:\n%s", out)
	}
	job := strings.Fields(c.ok("cron", "add", "@every 1s", pid, "tick", "--name", "ticker"))[0]
	job = strings.TrimSuffix(job, ":")
	if out := c.ok("cron", "list"); !strings.Contains(out, "ticker") {
		t.Fatalf("cron list:\n%s", out)
	}
	c.fail(cmdline.ExitError, "invalid", "cron", "add", "61 * * * *", pid, "x")
	c.ok("cron", "remove", job)
	c.fail(cmdline.ExitError, "no such cron job", "cron", "remove", job)
	// Semantic memory: ingest (resumable), search with a filter, stats, rm.
	// Before anything is stored, a search says it found nothing.
	if out, errs, code := c.run("memory", "search", "anything"); code != 0 || out != "" || errs != "no matches\n" {
		t.Fatalf("search of an empty memory: %d %q %q", code, out, errs)
	}
	docs := t.TempDir()
	if err := os.WriteFile(filepath.Join(docs, "notes.md"), []byte("# Ops\n\nThe backup job runs nightly at 02:00 UTC.\n\n# Team\n\nAlice owns the billing service.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := c.ok("memory", "ingest", docs); !strings.Contains(out, "1 ingested") {
		t.Fatalf("ingest: %s", out)
	}
	if out := c.ok("memory", "ingest", docs); !strings.Contains(out, "1 unchanged") {
		t.Fatalf("second ingest is not resumable: %s", out)
	}
	var hits []struct {
		Record struct {
			ID   string
			Text string
		}
	}
	c.jsonOut(&hits, "memory", "search", "when does the backup run", "-k", "1", "--filter", "source="+filepath.Join(docs, "notes.md"))
	if len(hits) != 1 || !strings.Contains(hits[0].Record.Text, "02:00") {
		t.Fatalf("search: %+v", hits)
	}
	// --explain shows what each retrieval component did for the hit.
	if out := c.ok("memory", "search", "when does the backup run", "-k", "1", "--explain", "--without", "session"); !strings.Contains(out, "bm25") ||
		!strings.Contains(out, "#1") || strings.Contains(out, "session") {
		t.Fatalf("search --explain:\n%s", out)
	}
	c.ok("memory", "rm", hits[0].Record.ID)
	c.fail(cmdline.ExitError, "", "memory", "rm", hits[0].Record.ID)
	if out := c.ok("memory", "stats"); !strings.Contains(out, "lexical-v1/384") || !strings.Contains(out, "lexical:     ") {
		t.Fatalf("stats: %s", out)
	}
	if out := c.ok("config", "show"); !strings.Contains(out, "max_processes") {
		t.Fatalf("config show:\n%s", out)
	}
	c.ok("agent", "stop", pid)
	out := c.ok("ps", "--all")
	if !strings.Contains(out, "exited(0)") {
		t.Fatalf("ps --all after stop:\n%s", out)
	}
	// Every operator act above was decided and recorded on the chain, and
	// the whole chain audits clean.
	decided := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(c.ok("chain", "tail", "-n", "1000", "--kind", "governance.decision", "--json")), "\n") {
		var ev struct {
			Payload struct {
				Request struct{ Action string }
			}
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("chain tail line %q: %v", line, err)
		}
		decided[ev.Payload.Request.Action] = true
	}
	for _, a := range []string{"agent.spawn", "process.suspend", "process.resume", "process.stop", "cron.add", "cron.remove", "memory.ingest", "memory.delete"} {
		if !decided[a] {
			t.Fatalf("no decision recorded for %s (decided: %v)", a, decided)
		}
	}
	if out := c.ok("gov", "audit"); !strings.Contains(out, "findings: none") {
		t.Fatalf("audit:\n%s", out)
	}
	c.ok("shutdown")
	if _, err := os.Stat(filepath.Join(c.home, "weave.sock")); !os.IsNotExist(err) {
		t.Fatalf("socket left after shutdown: %v", err)
	}
	c.fail(cmdline.ExitError, "no weave daemon", "ps")
	// The config file is validated with file, line and key.
	cfg := filepath.Join(c.home, "weftos.toml")
	if err := os.WriteFile(cfg, []byte("[kernel]\nmax_procs = 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.fail(cmdline.ExitError, "weftos.toml:2: kernel.max_procs: unknown key", "boot")
}

// TestStaleFilesAfterCrash: a daemon killed with SIGKILL leaves its socket
// and pid file behind; the next boot must clean up and start.
func TestStaleFilesAfterCrash(t *testing.T) {
	c := &cli{t: t, bin: buildWeave(t), home: filepath.Join(t.TempDir(), "home")}
	c.ok("boot", "--detach")
	first := strings.TrimSpace(c.ok("agent", "spawn", "before-crash"))
	var st struct {
		OSPID int `json:"os_pid"`
	}
	c.jsonOut(&st, "status")
	p, err := os.FindProcess(st.OSPID)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, code := c.run("status"); code != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("daemon survived SIGKILL")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(c.home, "weave.sock")); err != nil {
		t.Fatalf("expected a stale socket: %v", err)
	}
	c.ok("boot", "--detach")
	c.ok("status")
	// PIDs are not reused across boots.
	pid := strings.TrimSpace(c.ok("agent", "spawn", "after-crash"))
	if pid == first {
		t.Fatalf("PID %s reused after a restart", pid)
	}
	c.ok("shutdown")
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "boot") {
		t.Fatalf("help: %d %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "weave ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	for _, args := range [][]string{{"ps", "extra"}, {"agent"}, {"agent", "fly"}, {"ipc", "send", "1"}, {"boot", "--log-format", "xml"}, {"ps", "--bogus"}} {
		errb.Reset()
		if code := run(args, &out, &errb); code != cmdline.ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, cmdline.ExitUsage, errb.String())
		}
	}
}

// TestMemoryBench: `weave memory gen` writes a TEXMEX set and `weave
// memory bench --json` reports recall and QPS per ef on it.
func TestMemoryBench(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"memory", "gen", "--out", dir, "--n", "1000", "--queries", "20", "--clusters", "10", "--dim", "16"}, &out, &errb); code != 0 {
		t.Fatalf("gen: %d %s", code, errb.String())
	}
	out.Reset()
	code := run([]string{"memory", "bench", "--base", filepath.Join(dir, "base.fvecs"), "--query", filepath.Join(dir, "query.fvecs"),
		"--gt", filepath.Join(dir, "gt.ivecs"), "--k", "10", "--ef", "16,64", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("bench: %d %s", code, errb.String())
	}
	var pts []struct {
		Ef     int     `json:"ef"`
		Recall float64 `json:"recall"`
		QPS    float64 `json:"qps"`
	}
	if err := json.Unmarshal(out.Bytes(), &pts); err != nil || len(pts) != 2 || pts[1].Recall < 0.9 || pts[0].QPS <= 0 {
		t.Fatalf("bench output %q: %v", out.String(), err)
	}
}
