//go:build unix

package impulse

import (
	"syscall"
	"testing"
	"time"
)

// cpuTimer reports CPU time per op beside wall time: on a shared machine
// the wall time includes waiting for a core.
type cpuTimer struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU(b *testing.B) *cpuTimer { b.ResetTimer(); return &cpuTimer{start: cpuNow()} }

func (c *cpuTimer) stop(b *testing.B) {
	b.StopTimer()
	b.ReportMetric(float64((cpuNow()-c.start).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
