package localapi

import "errors"

// File names in the home directory.
const (
	// SocketName is the Unix socket the daemon listens on.
	SocketName = "weave.sock"
	// AddrName holds, on Windows, the loopback address and the API token
	// (two lines), readable only by the user.
	AddrName = "weave.addr"
)

// ErrUnsupported: this platform cannot serve the local API (see Supported).
var ErrUnsupported = errors.New("this platform cannot accept connections from other processes (WASI preview 1, js/wasm): the weave daemon does not run here; the offline commands (chain verify|status|tail|show|keys|export|prove|consistency, gov audit) do")
