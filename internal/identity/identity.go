// Package identity gives a node its keys: an Ed25519 key (the node's
// identity, from which the node ID derives) and an ML-DSA-65 key (FIPS 204)
// that dual-signs the audit chain's checkpoints with it. Both are created on
// first boot from fresh randomness and kept as 32-byte seeds in files that
// only the owner can read (mode 0600, directory 0700).
package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha3"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
)

// Dir is the directory, inside the home, that holds the key files.
const Dir = "keys"

// File names inside Dir.
const (
	Ed25519File = "node.ed25519"
	MLDSA65File = "node.mldsa65"
)

// ErrBadKey matches errors about a key file's content or permissions.
var ErrBadKey = errors.New("identity: bad key file")

// Identity holds a node's keys.
type Identity struct {
	NodeID     string
	Ed25519    ed25519.PrivateKey
	MLDSA65    *mldsa65.PrivateKey
	MLDSA65Pub *mldsa65.PublicKey
}

// NodeIDFor derives a node ID from an Ed25519 public key: "n" followed by
// the first 8 bytes of SHAKE-256(public key) in hex.
func NodeIDFor(pub ed25519.PublicKey) string {
	sum := sha3.SumSHAKE256(pub, 8)
	return "n" + hex.EncodeToString(sum)
}

// LoadOrCreate loads the keys under home/keys, creating them on first use.
func LoadOrCreate(home string) (*Identity, error) {
	return loadOrCreate(home, rand.Reader)
}

// Load loads existing keys; it fails if there are none.
func Load(home string) (*Identity, error) {
	return loadOrCreate(home, nil)
}

func loadOrCreate(home string, random io.Reader) (*Identity, error) {
	dir := filepath.Join(home, Dir)
	if random != nil {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("identity: %w", err)
		}
	}
	edSeed, err := seed(filepath.Join(dir, Ed25519File), random)
	if err != nil {
		return nil, err
	}
	mlSeed, err := seed(filepath.Join(dir, MLDSA65File), random)
	if err != nil {
		return nil, err
	}
	id := &Identity{Ed25519: ed25519.NewKeyFromSeed(edSeed[:])}
	id.MLDSA65Pub, id.MLDSA65 = mldsa65.NewKeyFromSeed(&mlSeed)
	id.NodeID = NodeIDFor(id.Ed25519.Public().(ed25519.PublicKey))
	return id, nil
}

// seed reads a hex seed file, or creates one from random when it is
// missing and random is not nil.
func seed(path string, random io.Reader) ([32]byte, error) {
	var s [32]byte
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && random != nil {
		if _, err := io.ReadFull(random, s[:]); err != nil {
			return s, fmt.Errorf("identity: randomness: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return s, fmt.Errorf("identity: %w", err)
		}
		if _, err := f.WriteString(hex.EncodeToString(s[:]) + "\n"); err != nil {
			f.Close()
			return s, fmt.Errorf("identity: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return s, fmt.Errorf("identity: %w", err)
		}
		return s, f.Close()
	}
	if err != nil {
		return s, fmt.Errorf("identity: %w", err)
	}
	if err := checkPerm(path); err != nil {
		return s, err
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(b) != 32 {
		return s, fmt.Errorf("%w: %s: want 64 hex digits", ErrBadKey, path)
	}
	copy(s[:], b)
	return s, nil
}
