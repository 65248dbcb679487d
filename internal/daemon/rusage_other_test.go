//go:build !unix

package daemon

import "time"

// processCPU is not measured on this platform.
func processCPU() (time.Duration, bool) { return 0, false }

// contextSwitches is not measured on this platform.
func contextSwitches() (voluntary, involuntary uint64, ok bool) { return 0, 0, false }
