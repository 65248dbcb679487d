//go:build !linux

package daemon

import "time"

// childCPU is not measured on this platform.
func childCPU(pid int) (time.Duration, bool) { return 0, false }
