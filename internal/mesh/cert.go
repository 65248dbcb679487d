package mesh

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"

	"github.com/weftos/weftos/internal/identity"
)

// Version is the protocol version this package speaks (the hello's first
// byte).
const Version = 1

// Suite is a handshake suite (the hello's second byte), bound in the
// prologue.
type Suite uint8

// Suites.
const (
	// SuiteHybrid: Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s, the PSK an
	// ML-KEM-768 shared secret established inside the handshake.
	SuiteHybrid Suite = 1
	// SuiteClassical: Noise_XX_25519_ChaChaPoly_BLAKE2s, no KEM. Refused
	// unless both sides allow classical links.
	SuiteClassical Suite = 2
)

func (s Suite) String() string {
	switch s {
	case SuiteHybrid:
		return "X25519+ML-KEM-768/ChaChaPoly/BLAKE2s"
	case SuiteClassical:
		return "X25519/ChaChaPoly/BLAKE2s (classical)"
	}
	return fmt.Sprintf("suite(%d)", uint8(s))
}

// kemName is the KEM part of a suite, as bound in the prologue.
func (s Suite) kemName() string {
	if s == SuiteHybrid {
		return "ML-KEM-768"
	}
	return "none"
}

// Certificate layout: u8 version ‖ Ed25519 public key ‖ ML-DSA-65 public
// key ‖ Ed25519 signature ‖ ML-DSA-65 signature, both over certMessage.
const (
	certVersion = 1
	certSize    = 1 + ed25519.PublicKeySize + mldsa65.PublicKeySize + ed25519.SignatureSize + mldsa65.SignatureSize
	// certDomain starts the signed message; the ML-DSA-65 context string
	// is mldsaContext.
	certDomain   = "weftos-mesh/v1 static key\n"
	mldsaContext = "weftos-mesh/v1"
)

// certMessage is what a node's identity keys sign: the domain, both
// identity public keys and the Noise static public key.
func certMessage(edPub, mlPub, static []byte) []byte {
	m := make([]byte, 0, len(certDomain)+len(edPub)+len(mlPub)+len(static))
	m = append(m, certDomain...)
	m = append(m, edPub...)
	m = append(m, mlPub...)
	return append(m, static...)
}

// signCert builds the certificate binding static to id.
func signCert(id *identity.Identity, static []byte) ([]byte, error) {
	edPub := id.Ed25519.Public().(ed25519.PublicKey)
	mlPub := id.MLDSA65Pub.Bytes()
	msg := certMessage(edPub, mlPub, static)
	mlSig := make([]byte, mldsa65.SignatureSize)
	if err := mldsa65.SignTo(id.MLDSA65, msg, []byte(mldsaContext), true, mlSig); err != nil {
		return nil, fmt.Errorf("mesh: signing the static key: %w", err)
	}
	c := make([]byte, 0, certSize)
	c = append(c, certVersion)
	c = append(c, edPub...)
	c = append(c, mlPub...)
	c = append(c, ed25519.Sign(id.Ed25519, msg)...)
	return append(c, mlSig...), nil
}

// Peer is the authenticated other end of a link.
type Peer struct {
	// NodeID derives from the peer's Ed25519 identity key
	// (identity.NodeIDFor).
	NodeID  string
	Ed25519 ed25519.PublicKey
	MLDSA65 *mldsa65.PublicKey
	// Static is the peer's Noise static key (X25519) for this endpoint's
	// lifetime.
	Static []byte
	Suite  Suite
	// Addr is the transport address of the other end.
	Addr string
}

// verifyCert decodes a certificate and checks both signatures over the
// peer's Noise static key.
func verifyCert(c, static []byte) (Peer, error) {
	if len(c) != certSize {
		return Peer{}, fmt.Errorf("%w: %d bytes, want %d", ErrBadCert, len(c), certSize)
	}
	if c[0] != certVersion {
		return Peer{}, fmt.Errorf("%w: version %d", ErrBadCert, c[0])
	}
	off := 1
	edPub := ed25519.PublicKey(bytes.Clone(c[off : off+ed25519.PublicKeySize]))
	off += ed25519.PublicKeySize
	mlBytes := c[off : off+mldsa65.PublicKeySize]
	off += mldsa65.PublicKeySize
	edSig := c[off : off+ed25519.SignatureSize]
	off += ed25519.SignatureSize
	mlSig := c[off:]
	var mlPub mldsa65.PublicKey
	if err := mlPub.UnmarshalBinary(mlBytes); err != nil {
		return Peer{}, fmt.Errorf("%w: ML-DSA-65 key: %w", ErrBadCert, err)
	}
	msg := certMessage(edPub, mlBytes, static)
	if !ed25519.Verify(edPub, msg, edSig) {
		return Peer{}, fmt.Errorf("%w: Ed25519 signature over the static key does not verify", ErrBadCert)
	}
	if !mldsa65.Verify(&mlPub, msg, []byte(mldsaContext), mlSig) {
		return Peer{}, fmt.Errorf("%w: ML-DSA-65 signature over the static key does not verify", ErrBadCert)
	}
	return Peer{NodeID: identity.NodeIDFor(edPub), Ed25519: edPub, MLDSA65: &mlPub, Static: bytes.Clone(static)}, nil
}

// certCacheSize bounds the certificates an endpoint remembers as verified.
const certCacheSize = 1024

// certCache remembers certificates that verified, keyed by a hash of the
// certificate and the static key it was checked against, so that a peer
// that links again (a reconnect, a stream for state sync) costs no second
// ML-DSA-65 key expansion and signature checks. Only exact bytes that
// verified before are skipped; anything else is verified in full.
type certCache struct {
	mu sync.Mutex
	m  map[[32]byte]Peer
}

func (c *certCache) verify(cert, static []byte) (Peer, error) {
	h := sha256.New()
	h.Write(cert)
	h.Write(static)
	var key [32]byte
	h.Sum(key[:0])
	c.mu.Lock()
	p, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := verifyCert(cert, static)
	if err != nil {
		return Peer{}, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= certCacheSize {
		c.m = make(map[[32]byte]Peer)
	}
	c.m[key] = p
	c.mu.Unlock()
	return p, nil
}

// reset forgets every verified certificate.
func (c *certCache) reset() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}
