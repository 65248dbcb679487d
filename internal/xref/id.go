// Package xref gives every structure WeftOS writes — chain events, memory
// records, sessions, tool calls, processes, graph nodes — one kind of
// identifier, a BLAKE3-256 hash of canonical bytes, and keeps a persisted
// forward and reverse index of the links between them.
//
// An entity's id covers only its content (so two writes of the same thing
// merge); an event's id covers its content and its timestamp (so two equal
// events at different times stay apart). The canonical bytes are the RFC
// 8785 serialization of {"type", "content"[, "ts"]} after a domain
// separation prefix.
package xref

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/jcs"
)

// ID is a universal identifier: BLAKE3-256 of canonical bytes.
type ID [32]byte

// ErrBadID reports text that is not an id.
var ErrBadID = errors.New("xref: not an id")

// domain separates xref ids from every other BLAKE3 use in WeftOS.
const domain = "weftos.xref.v1\x00"

// String is the id in lowercase hex.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports the zero id.
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText encodes the id as hex.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText decodes a 64-digit hex id.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseID parses a 64-digit hex id.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*len(id) {
		return id, fmt.Errorf("%w: %q is not 64 hex digits", ErrBadID, s)
	}
	if _, err := hex.Decode(id[:], []byte(strings.ToLower(s))); err != nil {
		return id, fmt.Errorf("%w: %q is not 64 hex digits", ErrBadID, s)
	}
	return id, nil
}

type canonical struct {
	Type    string `json:"type"`
	Content any    `json:"content"`
	TS      *int64 `json:"ts,omitempty"`
}

func sum(c canonical) (ID, error) {
	if c.Type == "" {
		return ID{}, fmt.Errorf("%w: empty type", ErrBadID)
	}
	b, err := jcs.Marshal(c)
	if err != nil {
		return ID{}, fmt.Errorf("xref: canonical bytes: %w", err)
	}
	return hashCanonical(b), nil
}

// Entity returns the id of an entity of type typ: content only, so equal
// content gives the same id.
func Entity(typ string, content any) (ID, error) { return sum(canonical{Type: typ, Content: content}) }

// Event returns the id of an event of type typ at ts (to the nanosecond).
func Event(typ string, ts time.Time, content any) (ID, error) {
	n := ts.UnixNano()
	return sum(canonical{Type: typ, Content: content, TS: &n})
}
