package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// TestLogs: the daemon's log is in HOME/weave.log whatever else receives
// it; the API serves its tail with secrets masked, rejects a bad n, and a
// follower gets new lines and ends cleanly when the daemon shuts down.
func TestLogs(t *testing.T) {
	home := t.TempDir()
	d, err := Open(context.Background(), Options{Home: home, Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			closeD(t, d)
		}
	}()
	c, err := client.New(home)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	const key = "sk-live-0123456789abcdefghijkl"
	d.log.Info("provider configured", "api_key", key)
	// A line an older version may have written, secret and all.
	if _, err := d.logFile.Write([]byte("level=ERROR msg=\"dial failed\" url=https://bob:hunter2@llm.example/v1 key=" + key + "\n")); err != nil {
		t.Fatal(err)
	}
	res, err := c.Logs(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != filepath.Join(home, LogName) || !slices.ContainsFunc(res.Lines, func(l string) bool { return strings.Contains(l, "weave ready") }) {
		t.Fatalf("logs %s: %q", res.Path, res.Lines)
	}
	all := strings.Join(res.Lines, "\n")
	for _, leak := range []string{key[3:], "hunter2"} {
		if strings.Contains(all, leak) {
			t.Fatalf("the API served a secret %q:\n%s", leak, all)
		}
	}
	if raw, _ := os.ReadFile(filepath.Join(home, LogName)); strings.Count(string(raw), key) != 1 {
		t.Fatalf("the daemon wrote the key it logged (or lost the old line): %s", raw)
	}
	if res, err := c.Logs(ctx, 1); err != nil || len(res.Lines) != 1 {
		t.Fatalf("n=1: %q %v", res.Lines, err)
	}
	var ae *client.APIError
	if _, err := c.Logs(ctx, 1_000_000); !errors.As(err, &ae) || ae.Code != "invalid_argument" || !errors.Is(err, kernel.ErrInvalid) {
		t.Fatalf("n too large: %v", err)
	}

	// Follow: the last line, then new ones, then a clean end at shutdown.
	var mu sync.Mutex
	var got []string
	more := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- c.FollowLogs(ctx, 1, func(l apitype.LogLine) error {
			mu.Lock()
			got = append(got, l.Line)
			mu.Unlock()
			select {
			case more <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	waitFor := func(what string, cond func([]string) bool) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			mu.Lock()
			ok := cond(got)
			mu.Unlock()
			if ok {
				return
			}
			select {
			case <-more:
			case <-deadline:
				t.Fatalf("follower never saw %s: %q", what, got)
			}
		}
	}
	waitFor("the last line", func(l []string) bool { return len(l) >= 1 })
	d.log.Warn("follow marker", "token", "tok-secret-value")
	waitFor("the marker", func(l []string) bool {
		return slices.ContainsFunc(l, func(s string) bool { return strings.Contains(s, "follow marker") })
	})
	mu.Lock()
	if s := strings.Join(got, "\n"); strings.Contains(s, "tok-secret-value") {
		t.Fatalf("follower got a secret: %s", s)
	}
	mu.Unlock()
	closeD(t, d)
	closed = true
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("follow ended with %v, want a clean end", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not end at shutdown")
	}
}

// TestDoctor: on a fresh node every check passes (the provider answers
// its model listing); a key others can read, a home others can write and
// an unreachable provider fail, each with a fix.
func TestDoctor(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	_, c, home := opsDaemon(t, srv)
	if err := os.Chmod(home, 0o700); err != nil { // as weave boot creates it
		t.Fatal(err)
	}
	ctx := context.Background()
	rep, err := c.Doctor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := func(rep apitype.DoctorReport) map[string]apitype.DoctorCheck {
		m := map[string]apitype.DoctorCheck{}
		for _, ch := range rep.Checks {
			m[ch.Name] = ch
		}
		return m
	}
	checks := byName(rep)
	want := map[string]string{"daemon": "ok", "config": "ok", "home": "ok", "keys": "ok", "chain": "ok", "constitution": "ok",
		"provider openai": "ok", "disk": "", "landlock": "", "log": "ok"}
	if !rep.Daemon || len(rep.Checks) != len(want) {
		t.Fatalf("report: %+v", rep)
	}
	for name, status := range want {
		ch, ok := checks[name]
		if !ok || (status != "" && ch.Status != status) || ch.Message == "" {
			t.Errorf("%s: %+v, want %s", name, ch, status)
		}
	}
	if !strings.Contains(checks["chain"].Message, "verified") || rep.Failed() != 0 {
		t.Fatalf("chain: %+v; failed %d", checks["chain"], rep.Failed())
	}
	if os.PathSeparator != '/' {
		return // file modes
	}
	key := filepath.Join(home, "keys", "node.ed25519")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(home, 0o700) })
	srv.Close() // the provider no longer answers
	rep, err = c.Doctor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checks = byName(rep)
	for _, name := range []string{"keys", "home", "provider openai"} {
		if ch := checks[name]; ch.Status != apitype.DoctorFail || ch.Fix == "" {
			t.Errorf("%s: %+v, want a failure with a fix", name, ch)
		}
	}
	if rep.Failed() != 3 || !strings.Contains(checks["keys"].Fix, "chmod 600") {
		t.Fatalf("failed %d: %+v", rep.Failed(), rep.Checks)
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
}
