package mesh

import "errors"

// Errors a handshake or a link ends with. Every handshake failure wraps
// ErrHandshake; the more specific sentinels say why.
var (
	// ErrHandshake is wrapped by every handshake failure.
	ErrHandshake = errors.New("mesh: handshake failed")
	// ErrVersion: the peer speaks another protocol version.
	ErrVersion = errors.New("mesh: unsupported protocol version")
	// ErrClassical: the peer offered (or this endpoint asked for) a classical
	// suite without ML-KEM, and classical links are not allowed.
	ErrClassical = errors.New("mesh: classical (non post-quantum) link refused")
	// ErrUnknownSuite: the peer offered a suite this endpoint does not know.
	ErrUnknownSuite = errors.New("mesh: unknown cipher suite")
	// ErrBadCert: the peer's identity certificate is malformed or its
	// signatures over the Noise static key do not verify.
	ErrBadCert = errors.New("mesh: bad node certificate")
	// ErrNotAdmitted: the peer authenticated, but its node id may not link
	// (unknown, removed, or not the node that was dialled).
	ErrNotAdmitted = errors.New("mesh: peer not admitted")
	// ErrRefusedByPeer: the peer refused the handshake (its REFUSE frame's
	// code and reason are in the message).
	ErrRefusedByPeer = errors.New("mesh: refused by peer")
	// ErrFrame: a frame or record is malformed.
	ErrFrame = errors.New("mesh: malformed frame")
	// ErrMessageTooLarge: a message exceeds the link's bound.
	ErrMessageTooLarge = errors.New("mesh: message too large")
	// ErrClosed: the link is closed (by either side, or after a failed or
	// interrupted operation).
	ErrClosed = errors.New("mesh: link closed")
)
