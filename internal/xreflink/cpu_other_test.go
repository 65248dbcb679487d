//go:build !unix

package xreflink

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
