package daemon

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/weftos/weftos/internal/config"
)

func TestProcs(t *testing.T) {
	for _, tc := range []struct {
		procs, cpus, want int
	}{{0, 1, 3}, {0, 2, 4}, {0, 16, 18}, {3, 2, 3}, {1, 64, 1}} {
		if got := procsFor(config.Kernel{Procs: tc.procs}, tc.cpus); got != tc.want {
			t.Errorf("procs %d on %d CPUs: %d, want %d", tc.procs, tc.cpus, got, tc.want)
		}
	}
	prev := runtime.GOMAXPROCS(0)
	n, restore := setProcs(config.Kernel{Procs: prev + 3}, func(string) string { return "" })
	if n != prev+3 || runtime.GOMAXPROCS(0) != prev+3 {
		t.Errorf("set %d, GOMAXPROCS %d, want %d", n, runtime.GOMAXPROCS(0), prev+3)
	}
	restore()
	if runtime.GOMAXPROCS(0) != prev {
		t.Fatalf("restored to %d, want %d", runtime.GOMAXPROCS(0), prev)
	}
	// The environment's GOMAXPROCS wins.
	n, restore = setProcs(config.Kernel{Procs: prev + 3}, func(k string) string { return map[string]string{"GOMAXPROCS": "1"}[k] })
	restore()
	if n != prev || runtime.GOMAXPROCS(0) != prev {
		t.Errorf("with GOMAXPROCS set: %d (now %d), want %d untouched", n, runtime.GOMAXPROCS(0), prev)
	}
}

func TestGC(t *testing.T) {
	noEnv := func(string) string { return "" }
	prevLimit := debug.SetMemoryLimit(-1)
	gc, limit, restore := setGC(config.Kernel{GCPercent: 250, MemoryLimitMiB: 512}, noEnv)
	now := debug.SetGCPercent(250) // reads it (setting what it is)
	nowLimit := debug.SetMemoryLimit(-1)
	restore()
	if gc != 250 || now != 250 || limit != 512<<20 || nowLimit != 512<<20 {
		t.Fatalf("set gc %d (in force %d), limit %d (in force %d); want 250 and %d", gc, now, limit, nowLimit, 512<<20)
	}
	if back := debug.SetGCPercent(100); back != 100 || debug.SetMemoryLimit(-1) != prevLimit {
		t.Fatalf("restored GOGC %d, limit %d; want 100 and %d", back, debug.SetMemoryLimit(-1), prevLimit)
	}
	// The environment's GOGC and GOMEMLIMIT win.
	env := func(k string) string { return map[string]string{"GOGC": "150", "GOMEMLIMIT": "1GiB"}[k] }
	gc, limit, restore = setGC(config.Kernel{GCPercent: 250, MemoryLimitMiB: 512}, env)
	untouched := debug.SetGCPercent(100)
	restore()
	if gc != -1 || untouched != 100 || limit != prevLimit {
		t.Fatalf("with GOGC and GOMEMLIMIT set: gc %d (in force %d), limit %d; want them untouched", gc, untouched, limit)
	}
}
