package chain

import (
	"bytes"
	"encoding/hex"
	"math"
	"unicode/utf8"
)

// The event lines of an export, as Export writes them, have one shape:
//
//	{"type":"event","seq":N,"chain_id":N,"ts":N,"prev_hash":"HEX","source":"S","kind":"S","payload":P,"payload_hash":"HEX","hash":"HEX"}
//
// Decoding them with encoding/json costs most of a verification where
// reflection is slow (js/wasm: 8× native). parseEventLine reads that exact
// shape by hand and declines everything else, which then goes through
// encoding/json as before. It must never accept a line that encoding/json
// would decode differently or reject (FuzzParseEventLine checks this): it
// declines escapes in strings, invalid UTF-8, numbers out of range or
// written other than as plain integers, members in another order, and
// whitespace. The payload is taken as the bytes between its key and the
// fixed-length tail; whether they are one JSON value is left to the
// canonicalizer, and VerifyExport sends a line whose payload it rejects
// through encoding/json, so a malformed line is still reported as one.

var (
	evPrefix   = []byte(`{"type":"event","seq":`)
	evChainID  = []byte(`,"chain_id":`)
	evTS       = []byte(`,"ts":`)
	evPrev     = []byte(`,"prev_hash":"`)
	evSource   = []byte(`","source":"`)
	evKind     = []byte(`","kind":"`)
	evPayload  = []byte(`","payload":`)
	evPHash    = []byte(`,"payload_hash":"`)
	evHash     = []byte(`","hash":"`)
	evEnd      = []byte(`"}`)
	evTailSize = len(evPHash) + 2*HashSize + len(evHash) + 2*HashSize + len(evEnd)
)

// parseEventLine decodes an event line of the shape Export writes into e
// and reports whether it did. e.Payload aliases line.
func parseEventLine(line []byte, e *Event) bool {
	p := lineReader{b: line}
	if !p.lit(evPrefix) {
		return false
	}
	seq, ok := p.uint(math.MaxUint64)
	if !ok || !p.lit(evChainID) {
		return false
	}
	id, ok := p.uint(math.MaxUint32)
	if !ok || !p.lit(evTS) {
		return false
	}
	ts, ok := p.int64()
	if !ok || !p.lit(evPrev) {
		return false
	}
	var prev Hash
	if !p.hash(&prev) || !p.lit(evSource) {
		return false
	}
	source, ok := p.plainString()
	if !ok || !p.lit(evKind) {
		return false
	}
	kind, ok := p.plainString()
	if !ok || !p.lit(evPayload) {
		return false
	}
	// The payload runs to the fixed-length tail.
	if len(p.b)-p.i < evTailSize+1 {
		return false
	}
	end := len(p.b) - evTailSize
	payload := p.b[p.i:end]
	p.i = end
	var ph, h Hash
	if !p.lit(evPHash) || !p.hash(&ph) || !p.lit(evHash) || !p.hash(&h) || !p.lit(evEnd) || p.i != len(p.b) {
		return false
	}
	if bytes.Equal(payload, []byte("null")) {
		payload = nil
	}
	*e = Event{Seq: seq, ChainID: uint32(id), Timestamp: ts, PrevHash: prev, Source: source, Kind: kind,
		Payload: payload, PayloadHash: ph, Hash: h}
	return true
}

// lineReader walks a line; every method advances only on success.
type lineReader struct {
	b []byte
	i int
}

func (p *lineReader) lit(s []byte) bool {
	if !bytes.HasPrefix(p.b[p.i:], s) {
		return false
	}
	p.i += len(s)
	return true
}

// uint reads a JSON integer without sign, fraction or exponent, at most max.
func (p *lineReader) uint(max uint64) (uint64, bool) {
	j := p.i
	for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
		j++
	}
	digits := p.b[p.i:j]
	if len(digits) == 0 || len(digits) > 20 || (len(digits) > 1 && digits[0] == '0') {
		return 0, false
	}
	if j < len(p.b) && (p.b[j] == '.' || p.b[j] == 'e' || p.b[j] == 'E') {
		return 0, false
	}
	var n uint64
	for _, c := range digits {
		d := uint64(c - '0')
		if n > (max-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	p.i = j
	return n, true
}

func (p *lineReader) int64() (int64, bool) {
	neg := p.i < len(p.b) && p.b[p.i] == '-'
	start := p.i
	if neg {
		p.i++
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	n, ok := p.uint(limit)
	if !ok {
		p.i = start
		return 0, false
	}
	if neg {
		return int64(-n), true // -(MaxInt64+1) wraps to MinInt64, as intended
	}
	return int64(n), true
}

// hash reads 64 hex digits, as Hash.UnmarshalText does.
func (p *lineReader) hash(h *Hash) bool {
	if len(p.b)-p.i < 2*HashSize {
		return false
	}
	if _, err := hex.Decode(h[:], p.b[p.i:p.i+2*HashSize]); err != nil {
		return false
	}
	p.i += 2 * HashSize
	return true
}

// plainString reads string contents up to the closing quote (left unread),
// declining escapes, control characters and invalid UTF-8, which
// encoding/json would transform.
func (p *lineReader) plainString() (string, bool) {
	j := p.i
	for j < len(p.b) {
		c := p.b[j]
		if c == '"' {
			break
		}
		if c == '\\' || c < 0x20 {
			return "", false
		}
		j++
	}
	if j == len(p.b) || !utf8.Valid(p.b[p.i:j]) {
		return "", false
	}
	s := string(p.b[p.i:j])
	p.i = j
	return s, true
}
