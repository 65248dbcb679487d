package llm_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// fakeClock records requested sleeps and returns at once, advancing Now.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const testKey = "sk-test-0123456789abcdef"

// env is a fake environment.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// fixture bundles a fake server and a client configured for it.
type fixture struct {
	srv   *llmtest.Server
	p     llm.Provider
	clock *fakeClock
	logs  *syncBuffer
}

// fixtureTransport is the transport of the fixtures' clients: the
// package's own default client (the direct transport for these http://
// servers), or net/http's with WEFTOS_LLM_TEST_TRANSPORT=net/http (.ci/run
// runs the package both ways).
var fixtureTransport = os.Getenv("WEFTOS_LLM_TEST_TRANSPORT")

// newFixture starts a fake server of the given kind and a client for it.
// mod may adjust the client config.
func newFixture(t testing.TB, kind llm.Kind, opts llmtest.Options, mod func(*llm.Config)) *fixture {
	t.Helper()
	var srv *llmtest.Server
	if kind == llm.KindAnthropic {
		srv = llmtest.NewAnthropic(opts)
	} else {
		srv = llmtest.NewOpenAI(opts)
	}
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv, clock: newFakeClock(), logs: &syncBuffer{}}
	cfg := llm.Config{
		Name:      string(kind),
		Kind:      kind,
		BaseURL:   srv.URL,
		APIKeyEnv: "TEST_KEY",
		Getenv:    env{"TEST_KEY": testKey}.get,
		Transport: fixtureTransport,
		Clock:     f.clock,
		Logger:    slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Rand:      func() float64 { return 0.5 },
	}
	if mod != nil {
		mod(&cfg)
	}
	p, err := llm.New(cfg)
	if err != nil {
		t.Fatalf("llm.New: %v", err)
	}
	f.p = p
	if c, ok := p.(interface{ CloseIdleConnections() }); ok {
		t.Cleanup(c.CloseIdleConnections)
	}
	return f
}

var kinds = []llm.Kind{llm.KindOpenAI, llm.KindAnthropic}

// collect returns an onDelta that records deltas.
type collector struct {
	mu     sync.Mutex
	deltas []llm.Delta
}

func (c *collector) on(d llm.Delta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deltas = append(c.deltas, d)
}

func (c *collector) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b bytes.Buffer
	for _, d := range c.deltas {
		if d.Kind == llm.DeltaText {
			b.WriteString(d.Text)
		}
	}
	return b.String()
}

func (c *collector) count(k llm.DeltaKind) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, d := range c.deltas {
		if d.Kind == k {
			n++
		}
	}
	return n
}

func userReq(model, text string) *llm.Request {
	return &llm.Request{Model: model, Messages: []llm.Message{{Role: llm.RoleUser, Content: text}}}
}
