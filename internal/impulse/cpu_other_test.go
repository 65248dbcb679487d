//go:build !unix

package impulse

import (
	"testing"
	"time"
)

type cpuTimer struct{}

func startCPU(b *testing.B) *cpuTimer { b.ResetTimer(); return &cpuTimer{} }

// stop reports nothing more where rusage is not available.
func (c *cpuTimer) stop(b *testing.B) { b.StopTimer(); _ = time.Now }
