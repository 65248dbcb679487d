//go:build unix

package daemon

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) this process has used.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// contextSwitches is how many times this process's threads gave up the
// CPU, waiting (voluntary: a futex, a poll, I/O) or preempted.
func contextSwitches() (voluntary, involuntary uint64, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, false
	}
	return uint64(ru.Nvcsw), uint64(ru.Nivcsw), true
}
