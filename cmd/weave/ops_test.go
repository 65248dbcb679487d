package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/daemon"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes it;
// wrote is signalled after each write.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{wrote: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		select {
		case s.wrote <- struct{}{}:
		default:
		}
	}()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func weave(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func noProviders(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	t.Setenv("ANTHROPIC_API_KEY", "")
}

func bootInProcess(t *testing.T, home string) *daemon.Daemon {
	t.Helper()
	d, err := daemon.Open(t.Context(), daemon.Options{Home: home, Version: "test", LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func closeDaemon(t *testing.T, d *daemon.Daemon) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestLogsCommand: weave logs reads the log through the daemon, follows
// it until the daemon shuts down (exit 0), and reads the files when no
// daemon runs.
func TestLogsCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a kernel")
	}
	noProviders(t)
	home := filepath.Join(t.TempDir(), "home")
	if _, errs, code := weave(t, "logs", "-f", "--home", home); code != cmdline.ExitError || !strings.Contains(errs, "needs a running daemon") {
		t.Fatalf("logs -f without a daemon: exit %d %q", code, errs)
	}
	if _, errs, code := weave(t, "logs", "-n", "1000000", "--home", home); code != cmdline.ExitUsage {
		t.Fatalf("-n too large: exit %d %q", code, errs)
	}
	d := bootInProcess(t, home)
	out, errs, code := weave(t, "logs", "-n", "5", "--home", home)
	if code != 0 || !strings.Contains(out, "weave ready") {
		t.Fatalf("logs: exit %d\n%s%s", code, out, errs)
	}
	var res apitype.LogsResponse
	out, _, _ = weave(t, "logs", "-n", "1", "--home", home, "--json")
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Lines) != 1 || res.Path != filepath.Join(home, daemon.LogName) {
		t.Fatalf("logs --json: %v %s", err, out)
	}

	fout, ferr := newSyncBuffer(), newSyncBuffer()
	done := make(chan int, 1)
	go func() { done <- run([]string{"logs", "-f", "-n", "1", "--home", home}, fout, ferr) }()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(fout.String(), "\n") {
		select {
		case <-fout.wrote:
		case code := <-done:
			t.Fatalf("logs -f ended early: exit %d %q", code, ferr.String())
		case <-deadline:
			t.Fatalf("logs -f printed nothing: %q %q", fout.String(), ferr.String())
		}
	}
	closeDaemon(t, d)
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(ferr.String(), "the daemon shut down") {
			t.Fatalf("logs -f at shutdown: exit %d %q", code, ferr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("logs -f did not end when the daemon shut down")
	}

	// Offline: the files.
	out, errs, code = weave(t, "logs", "-n", "1", "--home", home)
	if code != 0 || !strings.Contains(out, "weave stopped") || strings.Count(out, "\n") != 1 {
		t.Fatalf("offline logs: exit %d %q %q", code, out, errs)
	}
}

// TestDoctorCommand: weave doctor passes on a fresh node with and without
// the daemon, prints one line per check, and exits 1 with the failure
// named when a key is readable by others.
func TestDoctorCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a kernel")
	}
	noProviders(t)
	home := filepath.Join(t.TempDir(), "home")
	d := bootInProcess(t, home)
	out, errs, code := weave(t, "doctor", "--home", home)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 10 || !strings.HasPrefix(lines[0], "ok    daemon") {
		t.Fatalf("doctor: exit %d\n%s%s", code, out, errs)
	}
	for _, l := range lines {
		st, _, _ := strings.Cut(l, " ")
		if st != "ok" && st != "warn" && st != "skip" {
			t.Fatalf("line %q", l)
		}
	}
	closeDaemon(t, d)

	var rep apitype.DoctorReport
	out, errs, code = weave(t, "doctor", "--home", home, "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || rep.Daemon || rep.Failed() != 0 {
		t.Fatalf("offline doctor: exit %d %v\n%s%s", code, err, out, errs)
	}
	if os.PathSeparator != '/' {
		return
	}
	key := filepath.Join(home, "keys", "node.mldsa65")
	if err := os.Chmod(key, 0o640); err != nil {
		t.Fatal(err)
	}
	out, errs, code = weave(t, "doctor", "--home", home)
	if code != cmdline.ExitError || !strings.Contains(out, "fail  keys") || !strings.Contains(out, "fix: chmod 600 "+key) ||
		strings.TrimSpace(errs) != "weave: doctor: 1 of 10 checks failed" {
		t.Fatalf("doctor with an exposed key: exit %d\n%s%s", code, out, errs)
	}
}
