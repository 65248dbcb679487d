//go:build wasip1 || js

package cluster

import (
	"net"
	"time"
)

// On wasip1 and js hashicorp/memberlist does not build: a node there cannot run
// SWIM membership, so it cannot be in a cluster.
type membership interface {
	join(addrs []string) (int, error)
	leave(timeout time.Duration) error
	shutdown() error
	packet(b []byte, from net.Addr)
	stream(c *streamConn)
	view() map[string]memberView
	addrs() map[string]string
	alive(node string) (addr string, ok bool) // seen alive or suspect
	numAlive() int
}

type memberView struct {
	addr, state string
	rtt         time.Duration
	lastSeen    time.Time
	size        uint64
	root        string
}

func newMembership(*runtime) (membership, error) { return nil, ErrUnsupported }
