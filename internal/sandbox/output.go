package sandbox

import (
	"errors"
	"sync"
)

// errCapExceeded is returned to the guest's write (as EIO) once a stream
// passes its cap; the run then fails with ErrOutputTooLarge.
var errCapExceeded = errors.New("output cap exceeded")

// cappedBuffer collects at most limit bytes and remembers an overflow. On
// the first overflow it calls stop, which ends the run: a guest that
// ignores the write error and keeps printing must be reported as producing
// too much output, not as running out of fuel or time.
type cappedBuffer struct {
	mu       sync.Mutex
	buf      []byte
	limit    int
	overflow bool
	stop     func()
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.limit - len(c.buf); len(p) > room {
		c.buf = append(c.buf, p[:max(room, 0)]...)
		if !c.overflow && c.stop != nil {
			c.stop()
		}
		c.overflow = true
		return max(room, 0), errCapExceeded
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}

func (c *cappedBuffer) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf
}

func (c *cappedBuffer) overflowed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.overflow
}
