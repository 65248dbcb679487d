package chain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/weftos/weftos/internal/jcs"
)

// Sentinel errors callers can branch on with errors.Is.
var (
	// ErrFormat reports malformed input: a record, export line, proof or
	// checkpoint text that does not follow docs/EXOCHAIN.md.
	ErrFormat = errors.New("chain: malformed data")
	// ErrCorrupt reports on-disk corruption that recovery must not repair
	// silently (anything other than a torn tail of the last segment).
	ErrCorrupt = errors.New("chain: store corrupt")
	// ErrInvalidEvent reports an event the log refuses to append.
	ErrInvalidEvent = errors.New("chain: invalid event")
	// ErrNotFound reports a sequence number or checkpoint that does not exist.
	ErrNotFound = errors.New("chain: not found")
	// ErrClosed reports use of a closed Log, Reader or Recorder.
	ErrClosed = errors.New("chain: closed")
	// ErrKeyMismatch reports keys that do not match the ones stored with the chain.
	ErrKeyMismatch = errors.New("chain: keys do not match the chain")
	// ErrVerify reports a failed proof or signature verification.
	ErrVerify = errors.New("chain: verification failed")
	// ErrNoCheckpoint reports that no checkpoint covers the requested event yet.
	ErrNoCheckpoint = errors.New("chain: no checkpoint covers the event")
)

// Limits enforced on append and on decoding.
const (
	MaxNameLen    = 1 << 10  // source and kind, bytes
	MaxPayloadLen = 1 << 20  // canonical payload, bytes
	maxRecordLen  = 16 << 20 // framed record body, bytes
)

// Event is one entry of the chain.
type Event struct {
	Seq       uint64 `json:"seq"`
	ChainID   uint32 `json:"chain_id"`
	Timestamp int64  `json:"ts"` // Unix nanoseconds
	PrevHash  Hash   `json:"prev_hash"`
	Source    string `json:"source"`
	Kind      string `json:"kind"`
	// Payload is the RFC 8785 canonical JSON payload, nil when there is none.
	Payload     json.RawMessage `json:"payload"`
	PayloadHash Hash            `json:"payload_hash"`
	Hash        Hash            `json:"hash"`
}

// Entry is an event to append: the log assigns seq, chain id, timestamp and
// hashes.
type Entry struct {
	Source  string
	Kind    string
	Payload any // marshalled with encoding/json and canonicalized; nil for none
}

// CanonicalPayload returns the canonical bytes for a payload value: nil for no
// payload (a nil value or JSON null). json.RawMessage and []byte holding JSON
// text are canonicalized as is — copied, after a check, when they are
// canonical already (encoded by jcs.Marshal). A value is encoded once, by
// jcs.Marshal, and any raw JSON inside it is checked rather than
// re-encoded the same way.
func CanonicalPayload(v any) ([]byte, error) {
	var (
		out []byte
		err error
	)
	switch p := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		out, err = canonicalRaw(p)
	case []byte:
		out, err = canonicalRaw(p)
	default:
		out, err = jcs.Marshal(v)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %w", ErrInvalidEvent, err)
	}
	if bytes.Equal(out, []byte("null")) {
		return nil, nil
	}
	if len(out) > MaxPayloadLen {
		return nil, fmt.Errorf("%w: payload of %d bytes exceeds %d", ErrInvalidEvent, len(out), MaxPayloadLen)
	}
	return out, nil
}

// canonicalRaw returns a copy of the canonical form of raw JSON text.
func canonicalRaw(p []byte) ([]byte, error) {
	if len(p) == 0 {
		return nil, nil
	}
	if jcs.IsCanonical(p) {
		return bytes.Clone(p), nil
	}
	return jcs.Canonicalize(p)
}

func checkName(what, s string) error {
	if len(s) > MaxNameLen {
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalidEvent, what, MaxNameLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidEvent, what)
	}
	return nil
}

// prepared is an entry validated and canonicalized outside the commit path.
type prepared struct {
	source, kind string
	payload      []byte
	payloadHash  Hash
}

func prepare(e Entry) (prepared, error) {
	if err := checkName("source", e.Source); err != nil {
		return prepared{}, err
	}
	if err := checkName("kind", e.Kind); err != nil {
		return prepared{}, err
	}
	p, err := CanonicalPayload(e.Payload)
	if err != nil {
		return prepared{}, err
	}
	return prepared{source: e.Source, kind: e.Kind, payload: p, payloadHash: PayloadHash(p)}, nil
}
