//go:build unix

package impulse

import (
	"testing"
	"time"

	"github.com/weftos/weftos/internal/cputime"
)

// cpuTimer reports CPU time per op beside wall time: on a shared machine
// the wall time includes waiting for a core.
type cpuTimer struct{ start time.Duration }

func cpuNow() time.Duration {
	d, _ := cputime.Self()
	return d
}

func startCPU(b *testing.B) *cpuTimer { b.ResetTimer(); return &cpuTimer{start: cpuNow()} }

func (c *cpuTimer) stop(b *testing.B) {
	b.StopTimer()
	b.ReportMetric(float64((cpuNow()-c.start).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
