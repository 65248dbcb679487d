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
// CPU follows the allocation rate over the heap's headroom: an operator
// with memory to spare may trade it for CPU (docs/RATIONALE.md), and the
// memory limit bounds the heap on machines with little.
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
