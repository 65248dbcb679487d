package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/mesh"
)

// streamConn is a memberlist stream over a link of its own: each Write is
// one message on chanStream, Read returns their bytes in order. Deadlines
// become the contexts of the link's Send and Recv (so one that passes
// closes the stream, which is all memberlist does after a timeout).
type streamConn struct {
	l      *mesh.Link
	remote net.Addr
	mu     sync.Mutex // read side
	buf    []byte
	dmu    sync.Mutex
	rdl    time.Time
	wdl    time.Time
	done   chan struct{}
	once   sync.Once
	onDone func()
}

func newStreamConn(l *mesh.Link, addr string) *streamConn {
	return &streamConn{l: l, remote: addrOf(addr), done: make(chan struct{})}
}

func (c *streamConn) deadline(read bool) (context.Context, context.CancelFunc) {
	c.dmu.Lock()
	dl := c.wdl
	if read {
		dl = c.rdl
	}
	c.dmu.Unlock()
	if dl.IsZero() {
		return context.WithCancel(context.Background())
	}
	return context.WithDeadline(context.Background(), dl)
}

// timeoutErr is what a passed deadline returns (a net.Error that times
// out, like os.ErrDeadlineExceeded).
func timeoutErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", os.ErrDeadlineExceeded, err)
	}
	return err
}

func (c *streamConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.buf) == 0 {
		ctx, cancel := c.deadline(true)
		msg, err := c.l.Recv(ctx)
		err = timeoutErr(ctx, err)
		cancel()
		if err != nil {
			return 0, err
		}
		if len(msg) == 0 || msg[0] != chanStream {
			return 0, fmt.Errorf("%w: not a stream message", mesh.ErrFrame)
		}
		c.buf = msg[1:]
	}
	n := copy(b, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

func (c *streamConn) Write(b []byte) (int, error) {
	ctx, cancel := c.deadline(false)
	defer cancel()
	msg := make([]byte, 1+len(b))
	msg[0] = chanStream
	copy(msg[1:], b)
	if err := c.l.Send(ctx, msg); err != nil {
		return 0, timeoutErr(ctx, err)
	}
	return len(b), nil
}

func (c *streamConn) Close() error {
	c.once.Do(func() {
		close(c.done)
		if c.onDone != nil {
			c.onDone()
		}
	})
	return c.l.Close()
}

func (c *streamConn) LocalAddr() net.Addr  { return c.l.LocalAddr() }
func (c *streamConn) RemoteAddr() net.Addr { return c.remote }

func (c *streamConn) SetDeadline(t time.Time) error {
	c.dmu.Lock()
	c.rdl, c.wdl = t, t
	c.dmu.Unlock()
	return nil
}

func (c *streamConn) SetReadDeadline(t time.Time) error {
	c.dmu.Lock()
	c.rdl = t
	c.dmu.Unlock()
	return nil
}

func (c *streamConn) SetWriteDeadline(t time.Time) error {
	c.dmu.Lock()
	c.wdl = t
	c.dmu.Unlock()
	return nil
}
