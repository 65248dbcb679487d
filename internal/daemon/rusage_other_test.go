//go:build !unix

package daemon

// contextSwitches is not measured on this platform.
func contextSwitches() (voluntary, involuntary uint64, ok bool) { return 0, 0, false }
