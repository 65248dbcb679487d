package mesh

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftos/weftos/internal/identity"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newIdentity(tb testing.TB) *identity.Identity {
	tb.Helper()
	id, err := identity.LoadOrCreate(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func newEndpoint(tb testing.TB, cfg Config) *Endpoint {
	tb.Helper()
	if cfg.Identity == nil {
		cfg.Identity = newIdentity(tb)
	}
	e, err := NewEndpoint(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu       sync.Mutex
	refusals []Refusal
	linked   []Peer
}

func (r *recorder) Refused(f Refusal) { r.mu.Lock(); r.refusals = append(r.refusals, f); r.mu.Unlock() }
func (r *recorder) Linked(p Peer, _ bool) {
	r.mu.Lock()
	r.linked = append(r.linked, p)
	r.mu.Unlock()
}

func (r *recorder) snapshot() ([]Refusal, []Peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Refusal(nil), r.refusals...), append([]Peer(nil), r.linked...)
}

// pair runs a handshake between client and server over TCP loopback, the
// client's connection wrapped by wrap (nil: as is). It returns both sides'
// links and errors.
func pair(tb testing.TB, client, server *Endpoint, expect string, wrap func(net.Conn) net.Conn) (cl, sl *Link, cerr, serr error) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), handshakeWait)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			serr = err
			return
		}
		if sl, serr = server.Server(ctx, conn); serr != nil {
			conn.Close()
		}
	}()
	conn, err := TCP{}.Dial(ctx, ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	c := conn
	if wrap != nil {
		c = wrap(conn)
	}
	if cl, cerr = client.Client(ctx, c, expect); cerr != nil {
		conn.Close()
	}
	<-done
	return cl, sl, cerr, serr
}

// handshakeWait bounds pair's handshakes. A tampered length byte leaves
// both sides waiting for bytes that never come: only the deadline ends
// that, so TestTamperedHandshake shortens it.
var handshakeWait = 10 * time.Second

func closeLinks(links ...*Link) {
	for _, l := range links {
		if l != nil {
			l.Close()
		}
	}
}
