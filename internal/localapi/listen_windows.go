//go:build windows

package localapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// Supported reports whether the daemon's API can be served on this
// platform.
const Supported = true

// Listen opens the API listener on Windows: loopback TCP on a free port,
// with a random bearer token. Address and token are written to weave.addr
// in the home, which is inside the user's profile and so readable only by
// the user under the default ACL.
func Listen(home string) (ln net.Listener, token string, err error) {
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("localapi: %w", err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		ln.Close()
		return nil, "", fmt.Errorf("localapi: %w", err)
	}
	token = hex.EncodeToString(b[:])
	data := []byte(ln.Addr().String() + "\n" + token + "\n")
	if err := os.WriteFile(filepath.Join(home, AddrName), data, 0o600); err != nil {
		ln.Close()
		return nil, "", fmt.Errorf("localapi: %w", err)
	}
	return ln, token, nil
}

// Cleanup removes the listener's files.
func Cleanup(home string) { _ = os.Remove(filepath.Join(home, AddrName)) }
