//go:build unix

package daemon

import (
	"syscall"
)

// contextSwitches is how many times this process's threads gave up the
// CPU, waiting (voluntary: a futex, a poll, I/O) or preempted.
func contextSwitches() (voluntary, involuntary uint64, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, false
	}
	return uint64(ru.Nvcsw), uint64(ru.Nivcsw), true
}
