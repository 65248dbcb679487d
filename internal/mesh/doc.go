// Package mesh is WeftOS's encrypted link layer between nodes: a transport
// (TCP; the Transport interface lets a WebSocket one follow), a hybrid
// post-quantum handshake and the framing of the link that results.
//
// A link is a Noise XXpsk3 handshake (X25519, ChaChaPoly, BLAKE2s; package
// github.com/flynn/noise) whose pre-shared key is an ML-KEM-768 shared
// secret (crypto/mlkem) established inside the handshake: the initiator's
// first message carries an ephemeral ML-KEM-768 encapsulation key, the
// responder's answer the ciphertext, and both sides mix the shared secret
// in as the PSK before the last message. Breaking X25519 alone reveals
// nothing. The KEM choice is bound in the Noise prologue, so a downgrade is
// a failed handshake, and a classical-only peer (X25519 without ML-KEM) is
// refused unless the endpoint's configuration allows classical links.
//
// Each side's Noise static key is signed by its node identity (Ed25519 and
// ML-DSA-65, package internal/identity) once per endpoint; the signatures
// travel inside the encrypted handshake, so a peer is pinned by node id,
// never by address, and an Admit callback decides whether that node id may
// link at all.
//
// After the handshake a Link carries messages of any size (up to a
// configured bound) as a sequence of encrypted records of at most 64 KiB,
// and rekeys each direction periodically. docs/MESH.md specifies every byte.
//
// The package imports only the standard library, flynn/noise, circl (for
// ML-DSA-65) and internal/identity; it knows nothing of the daemon.
package mesh
