package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShutdownWithOpenStream: `weave shutdown` returns promptly while an
// `ipc subscribe` stream is open (as the Quickstart leaves one), and the
// subscriber ends.
func TestShutdownWithOpenStream(t *testing.T) {
	c := &cli{t: t, bin: buildWeave(t), home: filepath.Join(t.TempDir(), "home")}
	c.ok("boot", "--detach")
	t.Cleanup(func() { c.run("shutdown") })
	sub := exec.Command(c.bin, "ipc", "subscribe", "news", "--home", c.home)
	out, err := sub.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// The subscription is open once a publish reaches it.
	deadline := time.Now().Add(10 * time.Second)
	for received := false; !received; {
		if time.Now().After(deadline) {
			t.Fatal("the subscription never opened")
		}
		c.ok("ipc", "publish", "news", "ping")
		select {
		case l := <-lines:
			received = strings.Contains(l, "ping")
		case <-time.After(200 * time.Millisecond):
		}
	}
	start := time.Now()
	c.ok("shutdown")
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("shutdown took %s with a stream open", took)
	}
	timeout := time.After(10 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-lines:
		case <-timeout:
			_ = sub.Process.Kill()
			t.Fatal("the subscriber did not end with the daemon")
		}
	}
	_ = sub.Wait()
}

// TestDetachOnRunningHome: a second `boot --detach` names the daemon that
// runs on the home.
func TestDetachOnRunningHome(t *testing.T) {
	c := &cli{t: t, bin: buildWeave(t), home: filepath.Join(t.TempDir(), "home")}
	c.ok("boot", "--detach")
	t.Cleanup(func() { c.run("shutdown") })
	_, errs, code := c.run("boot", "--detach")
	if code != 1 || !strings.Contains(errs, "another weave daemon is running on this home (pid ") {
		t.Fatalf("second boot --detach: exit %d %q", code, errs)
	}
}

// TestKernelRefusalExitCode: a kernel operation answered {"ok": false}
// prints the answer and exits non-zero; a good one exits 0.
func TestKernelRefusalExitCode(t *testing.T) {
	c := &cli{t: t, bin: buildWeave(t), home: filepath.Join(t.TempDir(), "home")}
	c.ok("boot", "--detach")
	t.Cleanup(func() { c.run("shutdown") })
	for _, tc := range []struct {
		req  string
		code int
		want string
	}{
		{`{"op":"ps"}`, 0, `"ok": true`},
		{`{"op":"nosuch"}`, 1, `"ok": false`},
		{`{"op":"kill","pid":99999}`, 1, `"code": "unknown_pid"`},
	} {
		out, errs, code := c.run("ipc", "send", "kernel", tc.req)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("ipc send kernel %s: exit %d (want %d)\n%s%s", tc.req, code, tc.code, out, errs)
		}
		if tc.code != 0 && !strings.Contains(errs, "the kernel refused") {
			t.Errorf("ipc send kernel %s: stderr %q", tc.req, errs)
		}
	}
}

// TestStatusShowsProviders: status lists the configured providers with
// their endpoints, never their credentials.
func TestStatusShowsProviders(t *testing.T) {
	for _, k := range []string{"OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"} {
		t.Setenv(k, "")
	}
	c := &cli{t: t, bin: buildWeave(t), home: filepath.Join(t.TempDir(), "home")}
	if err := os.MkdirAll(c.home, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := "[[providers]]\nname = \"lab\"\nkind = \"openai\"\nbase_url = \"http://user:secret@10.0.0.5:8000/v1?key=zzz\"\n" +
		"[[providers]]\nname = \"ollama\"\nkind = \"openai\"\nbase_url = \"http://localhost:11434/v1\"\nmodel = \"llama3.2\"\n"
	if err := os.WriteFile(filepath.Join(c.home, "weftos.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("boot", "--detach")
	t.Cleanup(func() { c.run("shutdown") })
	out := c.ok("status")
	for _, want := range []string{"provider:     lab (openai, http://10.0.0.5:8000/v1, remote)", "provider:     ollama (openai, http://localhost:11434/v1, local)", "model:        none set"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret") || strings.Contains(out, "zzz") {
		t.Errorf("status shows credentials:\n%s", out)
	}
}
