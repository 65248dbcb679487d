//go:build !linux

package daemon

import "time"

// childCPU is not measured on this platform.
func childCPU(pid int) (time.Duration, bool) { return 0, false }

// processSyscalls is not measured on this platform.
func processSyscalls() (reads, writes uint64, ok bool) { return 0, 0, false }
