package mesh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
)

// maxPendingHandshakes bounds the handshakes a Listener runs at once.
const maxPendingHandshakes = 64

// Listener accepts connections and runs the responder's handshake on each
// (concurrently, up to a bound); Accept returns the links that result. It
// owns its goroutines: Close stops them and waits.
type Listener struct {
	ep     *Endpoint
	ln     net.Listener
	links  chan *Link
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sem    chan struct{}
}

// Listen listens on addr over tr.
func (e *Endpoint) Listen(ctx context.Context, tr Transport, addr string) (*Listener, error) {
	ln, err := tr.Listen(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("mesh: listen %s: %w", addr, err)
	}
	l := &Listener{ep: e, ln: ln, links: make(chan *Link), sem: make(chan struct{}, maxPendingHandshakes)}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

// Addr is the address the listener listens on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

func (l *Listener) accept() {
	defer l.wg.Done()
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			if l.ctx.Err() == nil {
				l.ep.cfg.Logger.Warn("mesh: accept failed; the listener stops", "err", err)
			}
			return
		}
		select {
		case l.sem <- struct{}{}:
		case <-l.ctx.Done():
			conn.Close()
			return
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer func() { <-l.sem }()
			link, err := l.ep.Server(l.ctx, conn)
			if err != nil {
				conn.Close()
				return
			}
			select {
			case l.links <- link:
			case <-l.ctx.Done():
				link.Close()
			}
		}()
	}
}

// Accept returns the next established link.
func (l *Listener) Accept(ctx context.Context) (*Link, error) {
	select {
	case link := <-l.links:
		return link, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-l.ctx.Done():
		return nil, ErrClosed
	}
}

// Close stops accepting, abandons handshakes under way and waits for the
// listener's goroutines.
func (l *Listener) Close() error {
	l.cancel()
	err := l.ln.Close()
	l.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
