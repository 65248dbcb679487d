//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package minihttp

import (
	"errors"
	"net"
	"syscall"
)

// peerGone reports whether the peer of an idle connection has closed it or
// sent something unasked (then it is not usable either), looking with one
// non-blocking MSG_PEEK receive that consumes nothing. ok is false when the
// connection offers no descriptor to look at.
func peerGone(c net.Conn) (gone, ok bool) {
	sc, isSys := c.(syscall.Conn)
	if !isSys {
		return false, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, false
	}
	var buf [1]byte
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		_, _, rerr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // one look, never wait
	}); err != nil {
		return true, true
	}
	switch {
	case errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK) || errors.Is(rerr, syscall.EINTR):
		return false, true // nothing to read: still open
	case rerr != nil:
		return true, true // reset, or any other failure
	default:
		return true, true // 0 bytes: the peer closed; more: bytes nobody asked for
	}
}
