package chain

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
)

// Keys are a node's checkpoint signing keys. The caller owns them (the
// daemon's identity layer generates and stores them); the chain only signs.
type Keys struct {
	Ed25519 ed25519.PrivateKey
	MLDSA65 *mldsa65.PrivateKey
}

// PublicKeys verify checkpoint signatures.
type PublicKeys struct {
	Ed25519 ed25519.PublicKey
	MLDSA65 *mldsa65.PublicKey
}

// GenerateKeys derives a fresh key pair from 64 bytes of rand: 32 for the
// Ed25519 seed and 32 for the ML-DSA-65 seed. Pass crypto/rand.Reader in
// production; a deterministic reader gives reproducible keys in tests.
func GenerateKeys(rand io.Reader) (Keys, error) {
	var seed [64]byte
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return Keys{}, fmt.Errorf("chain: generate keys: %w", err)
	}
	var ml [mldsa65.SeedSize]byte
	copy(ml[:], seed[32:])
	_, sk := mldsa65.NewKeyFromSeed(&ml)
	return Keys{Ed25519: ed25519.NewKeyFromSeed(seed[:32]), MLDSA65: sk}, nil
}

// Public returns the verification keys.
func (k Keys) Public() PublicKeys {
	var p PublicKeys
	if len(k.Ed25519) == ed25519.PrivateKeySize {
		p.Ed25519 = k.Ed25519.Public().(ed25519.PublicKey)
	}
	if k.MLDSA65 != nil {
		p.MLDSA65 = k.MLDSA65.Public().(*mldsa65.PublicKey)
	}
	return p
}

func (k Keys) valid() error {
	if len(k.Ed25519) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: missing or malformed Ed25519 private key", ErrKeyMismatch)
	}
	if k.MLDSA65 == nil {
		return fmt.Errorf("%w: missing ML-DSA-65 private key", ErrKeyMismatch)
	}
	return nil
}

// Equal reports whether p and o hold the same keys.
func (p PublicKeys) Equal(o PublicKeys) bool {
	if !p.Ed25519.Equal(o.Ed25519) {
		return false
	}
	if p.MLDSA65 == nil || o.MLDSA65 == nil {
		return p.MLDSA65 == o.MLDSA65
	}
	return p.MLDSA65.Equal(o.MLDSA65)
}

// Fingerprint is SHAKE-256/32 over the Ed25519 key followed by the ML-DSA-65
// key, a short identifier for display and pinning.
func (p PublicKeys) Fingerprint() Hash {
	var ml []byte
	if p.MLDSA65 != nil {
		ml = p.MLDSA65.Bytes()
	}
	return shake(p.Ed25519, ml)
}

// ChainInfo identifies a chain: the header of an export and the content of
// keys.json in a store directory.
type ChainInfo struct {
	Origin  string
	ChainID uint32
	Keys    PublicKeys
}

const formatName = "weftos-exochain/v1"

type chainInfoJSON struct {
	Type     string `json:"type,omitempty"`
	Format   string `json:"format"`
	Origin   string `json:"origin"`
	ChainID  uint32 `json:"chain_id"`
	Ed25519  string `json:"ed25519_public_key"`
	MLDSA65  string `json:"mldsa65_public_key"`
	From     uint64 `json:"from,omitempty"`
	PrevHash *Hash  `json:"prev_hash,omitempty"`
	Frontier []Hash `json:"frontier,omitempty"`
}

func (c ChainInfo) toJSON() chainInfoJSON {
	j := chainInfoJSON{Format: formatName, Origin: c.Origin, ChainID: c.ChainID, Ed25519: hex.EncodeToString(c.Keys.Ed25519)}
	if c.Keys.MLDSA65 != nil {
		j.MLDSA65 = hex.EncodeToString(c.Keys.MLDSA65.Bytes())
	}
	return j
}

func (j chainInfoJSON) info() (ChainInfo, error) {
	if j.Format != formatName {
		return ChainInfo{}, fmt.Errorf("%w: unknown format %q", ErrFormat, j.Format)
	}
	if err := checkOrigin(j.Origin); err != nil {
		return ChainInfo{}, err
	}
	keys, err := ParsePublicKeys(j.Ed25519, j.MLDSA65)
	if err != nil {
		return ChainInfo{}, err
	}
	return ChainInfo{Origin: j.Origin, ChainID: j.ChainID, Keys: keys}, nil
}

// ParsePublicKeys decodes hex-encoded Ed25519 and ML-DSA-65 public keys, as
// they appear in keys.json and an export's header.
func ParsePublicKeys(ed25519Hex, mldsa65Hex string) (PublicKeys, error) {
	ed, err := hex.DecodeString(ed25519Hex)
	if err != nil || len(ed) != ed25519.PublicKeySize {
		return PublicKeys{}, fmt.Errorf("%w: malformed Ed25519 public key", ErrFormat)
	}
	mlb, err := hex.DecodeString(mldsa65Hex)
	if err != nil || len(mlb) != mldsa65.PublicKeySize {
		return PublicKeys{}, fmt.Errorf("%w: malformed ML-DSA-65 public key", ErrFormat)
	}
	ml := new(mldsa65.PublicKey)
	if err := ml.UnmarshalBinary(mlb); err != nil {
		return PublicKeys{}, fmt.Errorf("%w: ML-DSA-65 public key: %v", ErrFormat, err)
	}
	return PublicKeys{Ed25519: ed, MLDSA65: ml}, nil
}

// MarshalJSON encodes the chain info as in keys.json.
func (c ChainInfo) MarshalJSON() ([]byte, error) { return json.Marshal(c.toJSON()) }

// UnmarshalJSON decodes and validates chain info.
func (c *ChainInfo) UnmarshalJSON(b []byte) error {
	var j chainInfoJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: chain info: %v", ErrFormat, err)
	}
	info, err := j.info()
	if err != nil {
		return err
	}
	*c = info
	return nil
}
