package daemon

import (
	"runtime"

	"github.com/weftos/weftos/internal/config"
)

// procsFor is the GOMAXPROCS of a daemon configured with k on a machine
// where Go found cpus: [kernel] procs, or cpus plus two. Every privileged
// act ends in a group commit, and the chain's and the session journal's
// committers wait in fdatasync on their own goroutines; Go hands the
// scheduler slot such a goroutine holds to other work only when its
// monitor notices (after 20 µs or more, later on a saturated machine). On
// two cores at 1,000 agents that left the slots in system calls a third of
// the time with hundreds of goroutines ready to run (docs/BENCHMARKS.md,
// "scheduler slots"); two more slots let the CPUs work meanwhile.
func procsFor(k config.Kernel, cpus int) int {
	if k.Procs > 0 {
		return k.Procs
	}
	return cpus + 2
}

// defaultProcs is the GOMAXPROCS Go chose at start (the CPUs available,
// within a cgroup's CPU limit), or the environment's.
var defaultProcs = runtime.GOMAXPROCS(0)

// setProcs applies procsFor unless the GOMAXPROCS environment variable
// chose already; it returns what restores the previous value.
func setProcs(k config.Kernel, getenv func(string) string) (procs int, restore func()) {
	prev := runtime.GOMAXPROCS(0)
	if getenv("GOMAXPROCS") != "" {
		return prev, func() {}
	}
	n := procsFor(k, defaultProcs)
	runtime.GOMAXPROCS(n)
	return n, func() { runtime.GOMAXPROCS(prev) }
}
