//go:build !unix

package cputime

import "time"

// Self is not measured on this platform: ok is false.
func Self() (d time.Duration, ok bool) { return 0, false }
