package chain

import (
	"bytes"
	"context"
	"crypto/sha3"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		benchChains.Range(func(_, dir any) bool {
			os.RemoveAll(dir.(string))
			return true
		})
		os.Exit(code)
	}))
}

// testKeys returns deterministic keys derived from a label.
func testKeys(t testing.TB, label string) Keys {
	t.Helper()
	k, err := GenerateKeys(shakeReader(label))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fakeClock is a manual clock: timers fire only in Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves time forward and runs due timers synchronously.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		t.f()
	}
}

// logBuffer captures slog output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testOptions(t testing.TB) Options {
	return Options{ChainID: 7, Origin: "node-test", Keys: testKeys(t, "node-test"), Clock: newFakeClock(),
		DeterministicSignatures: true, Logger: slog.New(slog.DiscardHandler)}
}

func openLog(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func closeLog(t testing.TB, l *Log) {
	t.Helper()
	if err := l.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// appendN appends n events with varied payloads.
func appendN(t testing.TB, l *Log, n int) []Event {
	t.Helper()
	var out []Event
	for i := range n {
		var payload any
		switch i % 3 {
		case 0:
			payload = map[string]any{"i": i, "name": "evt", "html": "<b>&</b>"}
		case 1:
			payload = nil
		default:
			payload = []any{i, 1.5, "x"}
		}
		e, err := l.Append(context.Background(), "test", "kind."+string(rune('a'+i%5)), payload)
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		out = append(out, e)
	}
	return out
}

func segmentPaths(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

func mustVerify(t testing.TB, dir string) *Report {
	t.Helper()
	rep, err := Verify(context.Background(), dir, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("Verify: %v", rep.Problem)
	}
	return rep
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func shakeReader(label string) *sha3.SHAKE {
	sh := sha3.NewSHAKE256()
	sh.Write([]byte(label))
	return sh
}

func osMkdirTemp() (string, error) { return os.MkdirTemp("", "exochain-bench-") }
