//go:build wasip1 || js

package localapi

import (
	"fmt"
	"net"
)

// Supported reports whether the daemon's API can be served on this
// platform. WASI preview 1 and js/wasm cannot accept connections from
// other processes, so no daemon runs there; the CLI's offline commands do.
const Supported = false

// Listen fails: see Supported.
func Listen(string) (net.Listener, string, error) {
	return nil, "", fmt.Errorf("localapi: %w", ErrUnsupported)
}

// Cleanup does nothing: Listen never created anything.
func Cleanup(string) {}
