package apppkg

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// TrustFile is the file in HOME/apps listing the publisher keys a node
// trusts. Each line is
//
//	KEY [name=NAME] [seq=N] [added=TIME]   # comment
//
// KEY is the publisher's Ed25519 public key in hex; the fields after it are
// what `weave app trust add` writes (the key's name, the chain seq of the
// decision that trusted it, when). A line holding only a key — the format
// before keys were managed by the command — is a key trusted by hand,
// without a record. '#' starts a comment; blank lines are skipped.
const TrustFile = "trusted_keys"

// MaxTrustFile bounds the trusted keys file.
const MaxTrustFile = 1 << 20

// ErrKey: a public key (or a key file) is not an Ed25519 public key.
var ErrKey = errors.New("not an Ed25519 public key")

// TrustedKey is one line of the trusted keys file.
type TrustedKey struct {
	Key   string // lower-case hex; "" when the line is invalid
	Name  string
	Seq   uint64 // the decision that trusted it; 0 for a key added by hand
	Added string // RFC 3339, as written
	Line  int    // 1-based line number in the file
	// Invalid says why the line is not a key (it is kept in the file, but
	// trusts nothing).
	Invalid string
}

// ID is the short form of a key: its first 16 hex digits.
func (k TrustedKey) ID() string { return KeyID(k.Key) }

// KeyID is the first 16 hex digits of a hex key.
func KeyID(key string) string {
	if len(key) > 16 {
		return key[:16]
	}
	return key
}

var trustNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// ValidKeyName reports whether name may name a trusted key.
func ValidKeyName(name string) bool { return trustNameRE.MatchString(name) }

// ParseTrustFile reads the trusted keys file: every line that is not blank
// or a comment, valid or not (an invalid line trusts nothing).
func ParseTrustFile(data []byte) []TrustedKey {
	var out []TrustedKey
	for i, line := range strings.Split(string(data), "\n") {
		if c := strings.IndexByte(line, '#'); c >= 0 {
			line = line[:c]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		k := TrustedKey{Line: i + 1}
		key := strings.ToLower(fields[0])
		if b, err := hex.DecodeString(key); err != nil || len(b) != ed25519.PublicKeySize {
			k.Invalid = fmt.Sprintf("%.20q is not a hex Ed25519 public key", fields[0])
			out = append(out, k)
			continue
		}
		k.Key = key
		for j, f := range fields[1:] {
			name, value, ok := strings.Cut(f, "=")
			switch {
			case !ok && j == 0 && ValidKeyName(f):
				k.Name = f // "KEY NAME", by hand
			case name == "name" && ValidKeyName(value):
				k.Name = value
			case name == "seq":
				k.Seq, _ = strconv.ParseUint(value, 10, 64)
			case name == "added":
				k.Added = value
			}
		}
		out = append(out, k)
	}
	return out
}

// TrustLine formats a trusted key as a line of the file (with its newline).
func TrustLine(k TrustedKey) string {
	var b strings.Builder
	b.WriteString(k.Key)
	if k.Name != "" {
		b.WriteString(" name=" + k.Name)
	}
	if k.Seq != 0 {
		b.WriteString(" seq=" + strconv.FormatUint(k.Seq, 10))
	}
	if k.Added != "" {
		b.WriteString(" added=" + k.Added)
	}
	b.WriteByte('\n')
	return b.String()
}

// TrustFileHeader starts a trusted keys file the command creates.
const TrustFileHeader = "# Publisher keys this node trusts to sign apps (docs/APPS.md).\n" +
	"# Managed by `weave app trust add|remove`: each change is a governed act on the chain.\n"

// AppendTrust returns data with k's line added (and the header, when data
// is empty).
func AppendTrust(data []byte, k TrustedKey) []byte {
	out := bytes.Clone(data)
	if len(out) == 0 {
		out = append(out, TrustFileHeader...)
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return append(out, TrustLine(k)...)
}

// RemoveTrust returns data without the lines that trust key; every other
// line — comments, other keys, invalid lines — is kept as it was. n is the
// number of lines removed.
func RemoveTrust(data []byte, key string) (out []byte, n int) {
	lines := strings.SplitAfter(string(data), "\n")
	var b strings.Builder
	for _, line := range lines {
		body := line
		if c := strings.IndexByte(body, '#'); c >= 0 {
			body = body[:c]
		}
		if f := strings.Fields(body); len(f) > 0 && strings.EqualFold(f[0], key) {
			n++
			continue
		}
		b.WriteString(line)
	}
	return []byte(b.String()), n
}

// ed25519SPKIPrefix is the DER of an Ed25519 SubjectPublicKeyInfo
// (RFC 8410) up to the 32 key bytes: SEQUENCE { SEQUENCE { OID 1.3.101.112 },
// BIT STRING (no unused bits) }. An Ed25519 PEM PUBLIC KEY is exactly this
// followed by the key, so it is matched byte for byte instead of linking
// crypto/x509 (and with it RSA, ECDSA and the NIST curves: 0.45 MiB of the
// edge binary, docs/BENCHMARKS.md).
var ed25519SPKIPrefix = []byte{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00}

// ParsePublicKey reads an Ed25519 public key: 64 hex digits, an OpenSSH
// public key line ("ssh-ed25519 BASE64 [comment]") or a PEM "PUBLIC KEY"
// block (PKIX). It returns the key in lower-case hex.
func ParsePublicKey(data []byte) (string, error) {
	if len(data) > 64<<10 {
		return "", fmt.Errorf("%w: longer than 64 KiB", ErrKey)
	}
	text := strings.TrimSpace(string(data))
	if b, err := hex.DecodeString(text); err == nil {
		if len(b) != ed25519.PublicKeySize {
			return "", fmt.Errorf("%w: %d hex bytes, want %d", ErrKey, len(b), ed25519.PublicKeySize)
		}
		return strings.ToLower(text), nil
	}
	if strings.HasPrefix(text, "-----BEGIN") {
		block, _ := pem.Decode([]byte(text))
		switch {
		case block == nil:
			return "", fmt.Errorf("%w: a damaged PEM block", ErrKey)
		case strings.Contains(block.Type, "PRIVATE"):
			return "", fmt.Errorf("%w: this is a private key; give the publisher's public key", ErrKey)
		case block.Type != "PUBLIC KEY":
			return "", fmt.Errorf("%w: a PEM %q block, want PUBLIC KEY", ErrKey, block.Type)
		}
		k, ok := bytes.CutPrefix(block.Bytes, ed25519SPKIPrefix)
		if !ok || len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("%w: the PEM PUBLIC KEY is not an Ed25519 key (RFC 8410 SubjectPublicKeyInfo)", ErrKey)
		}
		return hex.EncodeToString(k), nil
	}
	if f := strings.Fields(text); len(f) >= 2 && strings.HasPrefix(f[0], "ssh-") {
		if f[0] != "ssh-ed25519" {
			return "", fmt.Errorf("%w: an OpenSSH %s key", ErrKey, f[0])
		}
		blob, err := base64.StdEncoding.DecodeString(f[1])
		if err != nil {
			return "", fmt.Errorf("%w: OpenSSH key: %v", ErrKey, err)
		}
		return sshEd25519(blob)
	}
	return "", fmt.Errorf("%w: want 64 hex digits, an OpenSSH ssh-ed25519 line or a PEM PUBLIC KEY", ErrKey)
}

// sshEd25519 decodes the OpenSSH wire form: string "ssh-ed25519", string
// key (32 bytes), nothing after.
func sshEd25519(blob []byte) (string, error) {
	next := func() ([]byte, bool) {
		if len(blob) < 4 {
			return nil, false
		}
		n := binary.BigEndian.Uint32(blob)
		if uint64(n) > uint64(len(blob)-4) {
			return nil, false
		}
		s := blob[4 : 4+n]
		blob = blob[4+n:]
		return s, true
	}
	typ, ok1 := next()
	key, ok2 := next()
	if !ok1 || !ok2 || string(typ) != "ssh-ed25519" || len(key) != ed25519.PublicKeySize || len(blob) != 0 {
		return "", fmt.Errorf("%w: a malformed OpenSSH ssh-ed25519 key", ErrKey)
	}
	return hex.EncodeToString(key), nil
}
