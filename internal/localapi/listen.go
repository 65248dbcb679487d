package localapi

// File names in the home directory.
const (
	// SocketName is the Unix socket the daemon listens on.
	SocketName = "weave.sock"
	// AddrName holds, on Windows, the loopback address and the API token
	// (two lines), readable only by the user.
	AddrName = "weave.addr"
)
