package agenthost

import (
	"maps"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/kernel"
)

// TestSessionTableIdle: a session's agent is idle once no run of it is in
// flight and its last run ended before the cutoff; the reaped are
// forgotten, the others kept.
func TestSessionTableIdle(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var a sessionTable
	a.pids = map[string]kernel.PID{"old": 1, "busy": 2, "recent": 3, "twice": 4, "never": 5}
	a.begin("old")
	if !a.end("old", t0) {
		t.Fatal("the only run of old ended, yet another is in flight")
	}
	a.begin("busy")
	a.begin("recent")
	a.end("recent", t0.Add(time.Minute))
	a.begin("twice")
	a.begin("twice")
	if a.end("twice", t0) {
		t.Fatal("one run of twice ended: the other is still in flight")
	}
	got := a.idle(t0.Add(30 * time.Second))
	want := map[string]kernel.PID{"old": 1, "never": 5} // never: no run since the agent started
	if !maps.Equal(got, want) {
		t.Fatalf("idle %v, want %v", got, want)
	}
	if _, ok := a.pids["old"]; ok {
		t.Fatal("a reaped session is still in the table")
	}
	if len(a.idle(t0.Add(30*time.Second))) != 0 {
		t.Fatal("reaped twice")
	}
	if !a.end("twice", t0) {
		t.Fatal("the last run of twice ended")
	}
	if got := a.idle(t0.Add(time.Hour)); !maps.Equal(got, map[string]kernel.PID{"recent": 3, "twice": 4}) {
		t.Fatalf("later: %v", got)
	}
	if pid, ok := a.take("busy"); !ok || pid != 2 {
		t.Fatalf("take busy: %d %v", pid, ok)
	}
	if _, ok := a.take("busy"); ok {
		t.Fatal("taken twice")
	}
}
