package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuickstart runs the README's Quickstart block, exactly as written,
// with bash: every line must succeed, on a fresh home, through a restart.
func TestQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and boots daemons")
	}
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "## Quickstart\n")
	if !ok {
		t.Fatal("README has no Quickstart section")
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 || !strings.Contains(block, "bin/weave boot") {
		t.Fatalf("no sh block in the Quickstart:\n%s", after)
	}
	tmp := t.TempDir() // mktemp's homes land here
	t.Cleanup(func() {
		// Whatever happened, no daemon outlives the test.
		pids, _ := filepath.Glob(filepath.Join(tmp, "*", "weave.pid"))
		for _, p := range pids {
			_ = exec.Command(filepath.Join(root, "bin", "weave"), "shutdown", "--home", filepath.Dir(p)).Run()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", block)
	cmd.Dir = root
	env := []string{"TMPDIR=" + tmp}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WEFTOS_HOME=") && !strings.HasPrefix(kv, "TMPDIR=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("the Quickstart failed: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	for _, want := range []string{"weave started", `"ok": true`, "weftos_uptime_seconds", "verified", "findings: none", "weave stopped"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the Quickstart's output lacks %q:\n%s\nstderr:\n%s", want, out.String(), errb.String())
		}
	}
}
