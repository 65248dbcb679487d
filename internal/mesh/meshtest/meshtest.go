// Package meshtest is a fault-injecting mesh transport for tests: TCP on
// loopback between named nodes, with one-way cuts (partitions), added
// delay, deterministic loss and TCP-style loss (retransmitted late) per
// direction, changed at any time.
package meshtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/mesh"
)

// ErrCut is what a dial across a cut answers.
var ErrCut = errors.New("meshtest: link cut")

type pair struct{ from, to string }

// Network is a set of named nodes and the faults between them. It is safe
// for concurrent use.
type Network struct {
	mu    sync.Mutex
	addrs map[string]string // listen address → node name
	// dialers maps a dialled connection's local address to the dialling
	// node, so the listener's side knows whose connection it accepted.
	dialers map[string]string
	cut     map[pair]bool
	delay   map[pair]time.Duration
	loss    map[pair]float64
	tcp     map[pair]tcpLoss
	rng     *rand.Rand
}

// tcpLoss is packet loss under TCP: a lost write is retransmitted after
// rto, doubling for each further loss.
type tcpLoss struct {
	p   float64
	rto time.Duration
}

// NewNetwork returns a network whose loss decisions follow seed.
func NewNetwork(seed uint64) *Network {
	return &Network{addrs: map[string]string{}, dialers: map[string]string{}, cut: map[pair]bool{}, delay: map[pair]time.Duration{}, loss: map[pair]float64{},
		tcp: map[pair]tcpLoss{}, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Transport is node name's transport on the network.
func (n *Network) Transport(name string) mesh.Transport { return &transport{n: n, name: name} }

// Cut drops everything from → to (a one-way partition): dials fail and
// bytes on existing connections are lost (nothing arrives, nothing
// resets: a peer that stays silent).
func (n *Network) Cut(from, to string) {
	n.mu.Lock()
	n.cut[pair{from, to}] = true
	n.mu.Unlock()
}

// Partition cuts a and b from each other, both ways.
func (n *Network) Partition(a, b string) {
	n.Cut(a, b)
	n.Cut(b, a)
}

// Delay adds d before every write from → to.
func (n *Network) Delay(from, to string, d time.Duration) {
	n.mu.Lock()
	n.delay[pair{from, to}] = d
	n.mu.Unlock()
}

// Loss drops each write from → to with probability p (deterministic for
// a given seed and order of writes).
func (n *Network) Loss(from, to string, p float64) {
	n.mu.Lock()
	n.loss[pair{from, to}] = p
	n.mu.Unlock()
}

// TCPLoss loses each write from → to with probability p the way a
// lossy path under TCP does: nothing is dropped, but a lost write is
// retransmitted after rto (doubled for each further loss of the same
// write, each with probability p), and everything behind it on the
// connection waits (head-of-line blocking). Deterministic for a given
// seed and order of writes. Loss drops bytes instead, which an
// authenticated stream cannot survive.
func (n *Network) TCPLoss(from, to string, p float64, rto time.Duration) {
	n.mu.Lock()
	n.tcp[pair{from, to}] = tcpLoss{p: p, rto: rto}
	n.mu.Unlock()
}

// Heal removes every fault.
func (n *Network) Heal() {
	n.mu.Lock()
	n.cut, n.delay, n.loss, n.tcp = map[pair]bool{}, map[pair]time.Duration{}, map[pair]float64{}, map[pair]tcpLoss{}
	n.mu.Unlock()
}

// fault returns what applies to a write from → to now.
func (n *Network) fault(p pair) (drop bool, delay time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cut[p] {
		return true, 0
	}
	delay = n.delay[p]
	if l := n.loss[p]; l > 0 && n.rng.Float64() < l {
		return true, delay
	}
	if t := n.tcp[p]; t.p > 0 {
		for rto := t.rto; n.rng.Float64() < t.p && rto < time.Minute; rto *= 2 {
			delay += rto
		}
	}
	return false, delay
}

func (n *Network) nameOf(addr string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.addrs[addr]
}

type transport struct {
	n    *Network
	name string
}

func (t *transport) Listen(ctx context.Context, addr string) (net.Listener, error) {
	ln, err := mesh.TCP{}.Listen(ctx, addr)
	if err != nil {
		return nil, err
	}
	t.n.mu.Lock()
	t.n.addrs[ln.Addr().String()] = t.name
	t.n.mu.Unlock()
	return &listener{Listener: ln, n: t.n, name: t.name}, nil
}

// Dial connects to addr; the connection's writes obey the faults from
// this node to the listener's (the listener's side applies the other
// direction's to its writes).
func (t *transport) Dial(ctx context.Context, addr string) (net.Conn, error) {
	to := t.n.nameOf(addr)
	if to == "" {
		return nil, fmt.Errorf("meshtest: no node listens on %s", addr)
	}
	if t.n.isCut(pair{t.name, to}) {
		return nil, fmt.Errorf("%w: %s → %s", ErrCut, t.name, to)
	}
	c, err := mesh.TCP{}.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	local := c.LocalAddr().String()
	t.n.mu.Lock()
	t.n.dialers[local] = t.name
	t.n.mu.Unlock()
	return newConn(c, t.n, func() pair { return pair{t.name, to} }, func() {
		t.n.mu.Lock()
		delete(t.n.dialers, local)
		t.n.mu.Unlock()
	}), nil
}

func (n *Network) isCut(p pair) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cut[p]
}

// listener wraps accepted connections so their writes obey the faults
// from this node to the dialler's.
type listener struct {
	net.Listener
	n    *Network
	name string
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	remote := c.RemoteAddr().String()
	// The dialler is known once it has written (Dial registers its address
	// before returning): the first write here answers it.
	return newConn(c, l.n, func() pair {
		l.n.mu.Lock()
		defer l.n.mu.Unlock()
		return pair{l.name, l.n.dialers[remote]}
	}, nil), nil
}

// conn applies the faults of its direction to its writes: a dropped write
// is lost; a delayed one (Delay, TCPLoss) is delivered at its time by the
// connection's delivery goroutine, in order: later writes wait behind it
// (as on a TCP connection) but the writer does not, and delays do not add
// up write after write.
type conn struct {
	net.Conn
	n       *Network
	dir     func() pair
	onClose func()

	mu       sync.Mutex
	out      pair
	resolved bool
	queue    chan chunk // nil until a write is delayed
	last     time.Time  // when the latest queued write is delivered
	closed   bool
	drained  chan struct{}
	stop     chan struct{} // closed when the connection closes for good
	wdl      time.Time     // write deadline (queued writes: for a full queue)
	emu      sync.Mutex
	err      error // the delivery goroutine's write error (emu)
}

func (c *conn) failed() error {
	c.emu.Lock()
	defer c.emu.Unlock()
	return c.err
}

type chunk struct {
	b  []byte
	at time.Time
}

func newConn(c net.Conn, n *Network, dir func() pair, onClose func()) *conn {
	return &conn{Conn: c, n: n, dir: dir, onClose: onClose}
}

// deliveryQueue bounds the writes waiting for their delivery time.
const deliveryQueue = 4096

// closeDrain bounds how long a closed connection goes on delivering.
const closeDrain = 300 * time.Millisecond

func (c *conn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if !c.resolved {
		if c.out = c.dir(); c.out.to != "" {
			c.resolved = true
		}
	}
	out, closed := c.out, c.closed
	c.mu.Unlock()
	if closed {
		return 0, net.ErrClosed
	}
	if err := c.failed(); err != nil {
		return 0, err
	}
	drop, d := c.n.fault(out)
	if drop {
		return len(b), nil // lost on the way
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	now := time.Now()
	at := now.Add(d)
	if at.Before(c.last) {
		at = c.last
	}
	if c.queue == nil && !at.After(now) {
		c.mu.Unlock()
		return c.Conn.Write(b)
	}
	c.last = at
	if c.queue == nil {
		// From now on the delivery goroutine alone writes to the
		// connection, without a deadline.
		_ = c.Conn.SetWriteDeadline(time.Time{})
		c.queue, c.drained, c.stop = make(chan chunk, deliveryQueue), make(chan struct{}), make(chan struct{})
		go c.deliver(c.queue, c.drained, c.stop)
	}
	q, dl := c.queue, c.wdl
	// Sent under c.mu so that Close cannot close the queue meanwhile; a
	// full queue waits (bounded by the write deadline).
	var timeout <-chan time.Time
	if !dl.IsZero() {
		t := time.NewTimer(time.Until(dl))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case q <- chunk{b: append([]byte(nil), b...), at: at}:
		c.mu.Unlock()
		return len(b), nil
	case <-timeout:
		c.mu.Unlock()
		return 0, os.ErrDeadlineExceeded
	}
}

// deliver writes the queued chunks at their times, until the queue closes
// or the connection is closed for good (stop).
func (c *conn) deliver(q chan chunk, drained, stop chan struct{}) {
	defer close(drained)
	for ch := range q {
		if d := time.Until(ch.at); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-stop:
				t.Stop()
				return
			}
		}
		if _, err := c.Conn.Write(ch.b); err != nil {
			c.emu.Lock()
			c.err = err
			c.emu.Unlock()
			for range q { // the connection is broken: the rest is lost
			}
			return
		}
	}
}

// SetWriteDeadline bounds a write: on the connection while writes go
// straight to it; once they are queued, only a wait for room in the
// queue (a queued write is handed over, like bytes to a socket buffer:
// its late delivery is not the writer's wait).
func (c *conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wdl = t
	if c.queue != nil {
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetReadDeadline(t)
}

// Close closes the connection once what is queued was delivered (at most
// closeDrain later; the rest is lost), as a TCP close sends what the
// socket holds.
func (c *conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	q, drained, stop := c.queue, c.drained, c.stop
	if q != nil {
		close(q)
	}
	c.mu.Unlock()
	if c.onClose != nil {
		c.onClose()
	}
	if q == nil {
		return c.Conn.Close()
	}
	go func() {
		t := time.NewTimer(closeDrain)
		defer t.Stop()
		select {
		case <-drained:
		case <-t.C:
		}
		close(stop)
		c.Conn.Close()
	}()
	return nil
}
