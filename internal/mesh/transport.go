package mesh

import (
	"context"
	"net"
	"time"
)

// Transport carries a mesh's connections. TCP is the one in use; a
// WebSocket transport (for browser light nodes) only has to turn its
// connections into net.Conns.
type Transport interface {
	Dial(ctx context.Context, addr string) (net.Conn, error)
	Listen(ctx context.Context, addr string) (net.Listener, error)
}

// TCP is the TCP transport.
type TCP struct {
	// KeepAlive is the TCP keep-alive period (default 15 s; negative: off).
	KeepAlive time.Duration
}

var _ Transport = TCP{}

// Dial connects to addr ("host:port").
func (t TCP) Dial(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: t.KeepAlive}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	return c, nil
}

// Listen listens on addr ("host:port"; port 0 picks one).
func (t TCP) Listen(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: t.KeepAlive}
	return lc.Listen(ctx, "tcp", addr)
}
