//go:build !nollm

package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/kernel"
)

// TestIdleAgentsReaped: a session's agent process stops once it has had no
// message for agents.idle_timeout (the session stays); one with a run in
// flight is left alone.
func TestIdleAgentsReaped(t *testing.T) {
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "weftos.toml"), []byte("[agents]\nidle_timeout = \"1m\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
	t.Setenv("OPENAI_API_KEY", "x")
	fc := clock.NewFake(time.Unix(1000, 0))
	d, err := Open(context.Background(), Options{Home: home, Clock: fc, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeD(t, d)
	ctx := context.Background()
	ws := t.TempDir()
	idle, err := d.agenthost.SessionAgent(ctx, RunRequest{Session: "idle", Workspace: ws, Model: "openai/m"})
	if err != nil {
		t.Fatal(err)
	}
	busy, err := d.agenthost.SessionAgent(ctx, RunRequest{Session: "busy", Workspace: ws, Model: "openai/m"})
	if err != nil {
		t.Fatal(err)
	}
	d.agenthost.BeginRun("idle")
	d.agenthost.EndRun("idle", fc.Now())
	d.agenthost.BeginRun("busy") // a run in flight
	// Advance the clock until the reaper (which re-arms its timer after
	// each check) has stopped the idle agent.
	for i := 0; ; i++ {
		if i == 200 {
			t.Fatal("the idle agent was not stopped")
		}
		fc.Advance(15 * time.Second)
		wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, err := d.kernel.Wait(wctx, idle)
		cancel()
		if err == nil {
			break
		}
	}
	if in, err := d.kernel.Inspect(busy); err != nil || in.State != kernel.StateRunning {
		t.Fatalf("the busy session's agent: %+v %v", in, err)
	}
}
