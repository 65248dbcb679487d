package sandbox

import (
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// limitAllocator backs a run's linear memory and refuses to grow it past
// limit bytes, so memory.grow returns -1 instead of succeeding. It is
// installed per run (experimental.WithMemoryAllocator), which lets one
// compiled module run under different per-tool caps; the runtime-wide
// WithMemoryLimitPages remains the hard maximum.
type limitAllocator struct {
	limit    uint64
	exceeded atomic.Bool
}

func (a *limitAllocator) Allocate(capBytes, maxBytes uint64) experimental.LinearMemory {
	return &limitedMemory{a: a, capHint: min(capBytes, a.limit)}
}

type limitedMemory struct {
	a       *limitAllocator
	capHint uint64
	buf     []byte
	started bool
}

// Reallocate implements experimental.LinearMemory. Growth past the limit
// returns nil (memory.grow fails). The initial allocation (the module's
// declared minimum) is always satisfied so wazero never sees nil for it;
// an over-limit minimum is flagged and the run is refused before the
// module executes.
func (m *limitedMemory) Reallocate(size uint64) []byte {
	first := !m.started
	m.started = true
	if size > m.a.limit {
		m.a.exceeded.Store(true)
		if !first {
			return nil
		}
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	newCap := max(size, min(2*uint64(cap(m.buf)), m.a.limit), m.capHint)
	nb := make([]byte, size, newCap)
	copy(nb, m.buf)
	m.buf = nb
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *limitedMemory) Free() { m.buf = nil }
