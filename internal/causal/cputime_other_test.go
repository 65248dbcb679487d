//go:build !linux

package causal

import "time"

type opTimer struct{}

func newOpTimer() opTimer { return opTimer{} }

func (opTimer) done() {}

func threadCPU() time.Duration { return 0 }

const haveThreadCPU = false
