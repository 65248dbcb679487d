package chain

import (
	"crypto/sha3"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// HashSize is the size of every hash in the chain: SHAKE-256 with 32 bytes of
// output.
const HashSize = 32

// eventDomain prefixes the event hash preimage.
const eventDomain = "weftos/exochain/v1\x00"

// Hash is a 32-byte SHAKE-256 digest. It marshals to JSON and text as
// lowercase hex.
type Hash [HashSize]byte

// String returns the lowercase hex encoding of h.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zero bytes.
func (h Hash) IsZero() bool { return h == Hash{} }

// MarshalText encodes h as lowercase hex.
func (h Hash) MarshalText() ([]byte, error) {
	out := make([]byte, 2*HashSize)
	hex.Encode(out, h[:])
	return out, nil
}

// UnmarshalText decodes 64 hex characters into h.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 2*HashSize {
		return fmt.Errorf("%w: hash must be %d hex characters, got %d", ErrFormat, 2*HashSize, len(b))
	}
	if _, err := hex.Decode(h[:], b); err != nil {
		return fmt.Errorf("%w: hash: %v", ErrFormat, err)
	}
	return nil
}

// ParseHash decodes a hex hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	err := h.UnmarshalText([]byte(s))
	return h, err
}

// shake returns SHAKE-256/32 over the concatenation of parts.
func shake(parts ...[]byte) Hash {
	s := sha3.NewSHAKE256()
	for _, p := range parts {
		s.Write(p) //nolint:errcheck // never fails
	}
	var h Hash
	s.Read(h[:]) //nolint:errcheck // never fails
	return h
}

// PayloadHash returns SHAKE-256/32 of the canonical payload bytes, or 32 zero
// bytes when there is no payload (canonical is empty).
func PayloadHash(canonical []byte) Hash {
	if len(canonical) == 0 {
		return Hash{}
	}
	return shake(canonical)
}

// EventHash computes the hash of an event from its fields (docs/EXOCHAIN.md,
// "Event hash"). The stored Hash field of e is ignored.
func EventHash(e *Event) Hash {
	var stack [256]byte
	b := appendEventPreimage(stack[:0], e)
	var h Hash
	s := sha3.NewSHAKE256()
	s.Write(b)   //nolint:errcheck // never fails
	s.Read(h[:]) //nolint:errcheck // never fails
	return h
}

func appendEventPreimage(b []byte, e *Event) []byte {
	b = append(b, eventDomain...)
	b = binary.LittleEndian.AppendUint64(b, e.Seq)
	b = binary.LittleEndian.AppendUint32(b, e.ChainID)
	b = binary.LittleEndian.AppendUint64(b, uint64(e.Timestamp))
	b = append(b, e.PrevHash[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.Source)))
	b = append(b, e.Source...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.Kind)))
	b = append(b, e.Kind...)
	b = append(b, e.PayloadHash[:]...)
	return b
}

// LeafHash returns the RFC 6962 leaf hash of an event hash: H(0x00 ‖ eventHash).
func LeafHash(eventHash Hash) Hash {
	var buf [1 + HashSize]byte
	copy(buf[1:], eventHash[:])
	return shake(buf[:])
}

// NodeHash returns the RFC 6962 interior node hash: H(0x01 ‖ left ‖ right).
func NodeHash(left, right Hash) Hash {
	var buf [1 + 2*HashSize]byte
	buf[0] = 1
	copy(buf[1:], left[:])
	copy(buf[1+HashSize:], right[:])
	return shake(buf[:])
}
