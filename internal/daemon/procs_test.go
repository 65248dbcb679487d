package daemon

import (
	"runtime"
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
