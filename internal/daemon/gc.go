package daemon

import (
	"runtime/debug"

	"github.com/weftos/weftos/internal/config"
)

// setGC applies [kernel] gc_percent and memory_limit_mib to the process,
// each unless the environment chose already (GOGC, GOMEMLIMIT); it
// returns the settings in force and what restores the previous ones.
//
// Agents allocate on every turn, so the collector's share of the daemon's
// CPU follows the allocation rate over the heap's headroom: at Go's
// default of 100 it was 10–18 % of the CPU per turn at 1,000 agents, about
// half of that at 200 (docs/BENCHMARKS.md). The memory limit is the guard
// for machines where a heap of three times the live one would not fit.
func setGC(k config.Kernel, getenv func(string) string) (gcPercent int, limit int64, restore func()) {
	var undo []func()
	limit = debug.SetMemoryLimit(-1) // a negative value only reads it
	gcPercent = -1                   // unknown: left as the environment set it
	if getenv("GOGC") == "" && k.GCPercent > 0 {
		prev := debug.SetGCPercent(k.GCPercent)
		gcPercent = k.GCPercent
		undo = append(undo, func() { debug.SetGCPercent(prev) })
	}
	if getenv("GOMEMLIMIT") == "" && k.MemoryLimitMiB > 0 {
		prev := debug.SetMemoryLimit(int64(k.MemoryLimitMiB) << 20)
		limit = int64(k.MemoryLimitMiB) << 20
		undo = append(undo, func() { debug.SetMemoryLimit(prev) })
	}
	return gcPercent, limit, func() {
		for _, f := range undo {
			f()
		}
	}
}
