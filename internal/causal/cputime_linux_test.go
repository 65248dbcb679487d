package causal

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// opTimer times one operation twice: wall time, and the CPU time of the
// calling thread (CLOCK_THREAD_CPUTIME_ID, the goroutine locked to it),
// which leaves out waiting for a core on a shared machine.
type opTimer struct{}

func newOpTimer() opTimer { runtime.LockOSThread(); return opTimer{} }

func (opTimer) done() { runtime.UnlockOSThread() }

func threadCPU() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

const haveThreadCPU = true
