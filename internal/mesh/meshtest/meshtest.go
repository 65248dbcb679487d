// Package meshtest is a fault-injecting mesh transport for tests: TCP on
// loopback between named nodes, with one-way cuts (partitions), added
// delay and deterministic loss per direction, changed at any time.
package meshtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
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
	cut   map[pair]bool
	delay map[pair]time.Duration
	loss  map[pair]float64
	rng   *rand.Rand
}

// NewNetwork returns a network whose loss decisions follow seed.
func NewNetwork(seed uint64) *Network {
	return &Network{addrs: map[string]string{}, cut: map[pair]bool{}, delay: map[pair]time.Duration{}, loss: map[pair]float64{},
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Transport is node name's transport on the network.
func (n *Network) Transport(name string) mesh.Transport { return &transport{n: n, name: name} }

// Cut drops everything from → to (a one-way partition): dials fail and
// bytes on existing connections are dropped, which breaks them.
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

// Heal removes every fault.
func (n *Network) Heal() {
	n.mu.Lock()
	n.cut, n.delay, n.loss = map[pair]bool{}, map[pair]time.Duration{}, map[pair]float64{}
	n.mu.Unlock()
}

// fault returns what applies to a write from → to now.
func (n *Network) fault(p pair) (drop bool, delay time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cut[p] {
		return true, 0
	}
	if l := n.loss[p]; l > 0 && n.rng.Float64() < l {
		return true, n.delay[p]
	}
	return false, n.delay[p]
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
	return ln, nil
}

// Dial connects to addr; the connection is wrapped so both its directions
// obey the faults between this node and the listener's.
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
	return &conn{Conn: c, n: t.n, out: pair{t.name, to}, in: pair{to, t.name}}, nil
}

func (n *Network) isCut(p pair) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cut[p]
}

// conn applies faults to the dialler's side of a connection: writes go
// out (this node → peer), reads come in (peer → this node).
type conn struct {
	net.Conn
	n       *Network
	out, in pair
}

func (c *conn) Write(b []byte) (int, error) {
	drop, d := c.n.fault(c.out)
	if d > 0 {
		time.Sleep(d)
	}
	if drop {
		return len(b), nil // lost on the way
	}
	return c.Conn.Write(b)
}

func (c *conn) Read(b []byte) (int, error) {
	for {
		n, err := c.Conn.Read(b)
		if n > 0 {
			if drop, _ := c.n.fault(c.in); drop {
				if err != nil {
					return 0, err
				}
				continue // lost on the way
			}
		}
		return n, err
	}
}
