//go:build !windows && !wasip1 && !js

package localapi

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// Supported reports whether the daemon's API can be served on this
// platform.
const Supported = true

// Listen opens the API listener in home: a Unix socket with mode 0600. A
// socket file left by a crashed daemon is removed first; the caller must
// hold the home's lock so that the file cannot belong to a live daemon. The
// token is empty: the socket's permissions are the authentication.
func Listen(home string) (ln net.Listener, token string, err error) {
	path := filepath.Join(home, SocketName)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("localapi: removing stale socket: %w", err)
	}
	ln, err = net.Listen("unix", path)
	if err != nil {
		return nil, "", fmt.Errorf("localapi: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, "", fmt.Errorf("localapi: %w", err)
	}
	return ln, "", nil
}

// Cleanup removes the listener's files.
func Cleanup(home string) { _ = os.Remove(filepath.Join(home, SocketName)) }
