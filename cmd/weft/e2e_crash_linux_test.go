//go:build linux

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

	"golang.org/x/sys/unix"

	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// TestSIGKILLAfterToolCall: the moment a permitted tool call has returned
// to the agent, its decision and its outcome are on disk — killing the
// daemon with SIGKILL right then loses neither.
func TestSIGKILLAfterToolCall(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	c := newWeft(t, srv)
	weave, pid := weaveDaemon(t, c)
	// The model's second request arrives only after the tool call has
	// returned to the agent loop: kill the daemon right there.
	killed := make(chan struct{})
	srv.Push(llmtest.Calls(llmtest.ToolCall{ID: "k1", Name: "read_file", Arguments: `{"path":"README.md"}`}),
		llmtest.Turn{Hang: true})
	go func() {
		defer close(killed)
		if until(func() bool { return len(srv.ChatRequests()) == 2 }) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}()
	_, _, code := c.run("agent", "-m", "read it", "--model", "openai/m", "--session", "k")
	<-killed
	if code == 0 {
		t.Fatal("the run survived its daemon's SIGKILL")
	}
	waitFor(t, func() bool { return syscall.Kill(pid, 0) != nil }, "the daemon to die")
	var decision, outcome string
	for _, ev := range chainEvents(t, c.home) {
		var m map[string]any
		_ = json.Unmarshal(ev.Payload, &m)
		switch ev.Kind {
		case governance.KindDecision:
			if request(m)["action"] == "fs.read" {
				decision, _ = m["action_id"].(string)
			}
		case governance.KindToolCall:
			outcome, _ = m["action_id"].(string)
		}
	}
	if decision == "" || outcome != decision {
		t.Fatalf("after SIGKILL: decision %q, outcome %q", decision, outcome)
	}
	// The node boots again on the same chain, and it audits clean.
	boot := exec.Command(weave, "boot", "--detach", "--home", c.home)
	boot.Env = append(os.Environ(), c.env...)
	if out, err := boot.CombinedOutput(); err != nil {
		t.Fatalf("reboot: %v %s", err, out)
	}
	if out, err := exec.Command(weave, "gov", "audit", "--home", c.home).CombinedOutput(); err != nil || !strings.Contains(string(out), "findings: none") {
		t.Fatalf("audit after the crash: %v\n%s", err, out)
	}
}

// TestChainUnwritableFailsClosed: when the chain cannot be written (here:
// every write past the file-size limit fails with EFBIG, a real I/O
// error), no privileged act happens — the agent's model call is refused,
// operator acts are refused — and the node reports itself degraded.
func TestChainUnwritableFailsClosed(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	c := newWeft(t, srv)
	weave, pid := weaveDaemon(t, c)
	// The live segment has zeros preallocated after its data (writes
	// there would not grow the file): limit the size to where the data
	// ends, so the next write of a record fails.
	seg, err := os.ReadFile(filepath.Join(c.home, "chain", "00000000.seg"))
	if err != nil {
		t.Fatal(err)
	}
	end := uint64(len(bytes.TrimRight(seg, "\x00")))
	lim := unix.Rlimit{Cur: end, Max: end}
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &lim, nil); err != nil {
		t.Skipf("cannot lower the daemon's file-size limit here: %v", err)
	}
	srv.Push(llmtest.Text("should never be asked"))
	_, errs, code := c.run("agent", "-m", "hello", "--model", "openai/m")
	if code == 0 || !strings.Contains(errs, "audit chain cannot be written") {
		t.Fatalf("agent with an unwritable chain: exit %d %s", code, errs)
	}
	if n := len(srv.ChatRequests()); n != 0 {
		t.Fatalf("%d model requests went out with no record possible", n)
	}
	out, err := exec.Command(weave, "status", "--home", c.home).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "degraded") || !strings.Contains(string(out), "chain") {
		t.Fatalf("status:\n%s %v", out, err)
	}
	out, err = exec.Command(weave, "agent", "spawn", "x", "--home", c.home).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "chain") {
		t.Fatalf("spawn with an unwritable chain: %v\n%s", err, out)
	}
	// Raise the limit again so the daemon can shut down and release the home.
	lim = unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	_ = unix.Prlimit(pid, unix.RLIMIT_FSIZE, &lim, nil)
}
