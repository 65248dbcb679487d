package cluster

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftos/weftos/internal/identity"
)

// ID is a 16-byte identifier (cluster ids, invite token ids), printed in
// hex.
type ID [16]byte

func (id ID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is all zeros.
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText writes the hex form.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses the hex form.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseID parses 32 hex digits.
func ParseID(s string) (ID, error) {
	var id ID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("cluster: id %q: want 32 hex digits", s)
	}
	copy(id[:], b)
	return id, nil
}

// TokenPrefix starts every invite token.
const TokenPrefix = "weft-invite-"

// Invite token layout (before the signature):
//
//	u8 version (=1) ‖ cluster id (16) ‖ token id (16) ‖ u64be expires
//	(Unix seconds) ‖ issuer Ed25519 public key (32) ‖ u8 count ‖
//	count × (u8 length ‖ address)
//
// followed by the issuer's Ed25519 signature over inviteDomain ‖ body.
const (
	inviteVersion = 1
	inviteDomain  = "weftos-cluster/v1 invite\n"
	maxInviteAddr = 8
	maxAddrLen    = 255
)

// Invite is a signed, expiring, single-use invitation to join a cluster,
// redeemed at its issuer.
type Invite struct {
	Cluster ID
	ID      ID
	Expires time.Time
	Issuer  ed25519.PublicKey
	// Addrs are the issuer's address (first: where the token is redeemed)
	// and other reachable members'.
	Addrs []string
}

// IssuerID is the issuer's node id: the node the joiner must reach.
func (inv *Invite) IssuerID() string { return identity.NodeIDFor(inv.Issuer) }

func (inv *Invite) body() ([]byte, error) {
	if len(inv.Addrs) == 0 || len(inv.Addrs) > maxInviteAddr {
		return nil, fmt.Errorf("%w: %d addresses (want 1 to %d)", ErrBadToken, len(inv.Addrs), maxInviteAddr)
	}
	b := []byte{inviteVersion}
	b = append(b, inv.Cluster[:]...)
	b = append(b, inv.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(inv.Expires.Unix()))
	b = append(b, inv.Issuer...)
	b = append(b, byte(len(inv.Addrs)))
	for _, a := range inv.Addrs {
		if len(a) == 0 || len(a) > maxAddrLen || !utf8.ValidString(a) {
			return nil, fmt.Errorf("%w: address %q", ErrBadToken, a)
		}
		b = append(b, byte(len(a)))
		b = append(b, a...)
	}
	return b, nil
}

// Encode signs the invite with the issuer's key and returns the token.
func (inv *Invite) Encode(issuer ed25519.PrivateKey) (string, error) {
	if !bytes.Equal(issuer.Public().(ed25519.PublicKey), inv.Issuer) {
		return "", fmt.Errorf("%w: signing key is not the issuer's", ErrBadToken)
	}
	body, err := inv.body()
	if err != nil {
		return "", err
	}
	sig := ed25519.Sign(issuer, append([]byte(inviteDomain), body...))
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(append(body, sig...)), nil
}

// ParseInvite decodes a token and checks its signature (by the issuer it
// names: the issuer itself checks that it is the issuer, and every
// member-side check — expiry, single use, the cluster — is the
// redeemer's).
func ParseInvite(token string) (Invite, error) {
	var inv Invite
	s, ok := strings.CutPrefix(strings.TrimSpace(token), TokenPrefix)
	if !ok {
		return inv, fmt.Errorf("%w: does not start with %q", ErrBadToken, TokenPrefix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return inv, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	const fixed = 1 + 16 + 16 + 8 + ed25519.PublicKeySize + 1
	if len(raw) < fixed+ed25519.SignatureSize {
		return inv, fmt.Errorf("%w: %d bytes", ErrBadToken, len(raw))
	}
	body, sig := raw[:len(raw)-ed25519.SignatureSize], raw[len(raw)-ed25519.SignatureSize:]
	if body[0] != inviteVersion {
		return inv, fmt.Errorf("%w: version %d", ErrBadToken, body[0])
	}
	copy(inv.Cluster[:], body[1:17])
	copy(inv.ID[:], body[17:33])
	exp := binary.BigEndian.Uint64(body[33:41])
	if exp > 1<<62 {
		return inv, fmt.Errorf("%w: expiry out of range", ErrBadToken)
	}
	inv.Expires = time.Unix(int64(exp), 0).UTC()
	inv.Issuer = ed25519.PublicKey(bytes.Clone(body[41 : 41+ed25519.PublicKeySize]))
	n := int(body[fixed-1])
	rest := body[fixed:]
	if n == 0 || n > maxInviteAddr {
		return inv, fmt.Errorf("%w: %d addresses", ErrBadToken, n)
	}
	for range n {
		if len(rest) < 1 || len(rest) < 1+int(rest[0]) || rest[0] == 0 {
			return inv, fmt.Errorf("%w: address list cut short", ErrBadToken)
		}
		a := string(rest[1 : 1+int(rest[0])])
		if !utf8.ValidString(a) {
			return inv, fmt.Errorf("%w: address is not UTF-8", ErrBadToken)
		}
		inv.Addrs = append(inv.Addrs, a)
		rest = rest[1+int(rest[0]):]
	}
	if len(rest) != 0 {
		return inv, fmt.Errorf("%w: %d trailing bytes", ErrBadToken, len(rest))
	}
	if !ed25519.Verify(inv.Issuer, append([]byte(inviteDomain), body...), sig) {
		return inv, fmt.Errorf("%w: signature does not verify", ErrBadToken)
	}
	return inv, nil
}
