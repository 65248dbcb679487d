package jcs

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Reading a few members of a JSON object without decoding the rest. Chain
// payloads are canonical JSON (validated when appended); readers that need
// two or three members of each — the cross-reference indexer reads every
// event — find them with Member instead of json.Unmarshal into a struct,
// which scans and decodes the whole payload.

// ErrNotObject reports input that is not a JSON object where one is
// needed.
var ErrNotObject = fmt.Errorf("%w: not a JSON object", ErrInvalid)

// maxMemberDepth bounds the nesting Member skips through.
const maxMemberDepth = 1000

// Member returns the raw value (without surrounding whitespace) of the
// member of the object obj at path — each element a member name, matched
// exactly, the first match taken —, or ok false when a member on the path
// is absent or null. An object on the path that is malformed, or a
// non-null non-object where the path goes on, is an error. Values it only
// skips are checked for their structure, not fully validated.
func Member(obj []byte, path ...string) (raw []byte, ok bool, err error) {
	raw = obj
	for _, name := range path {
		raw, ok, err = findMember(raw, name)
		if err != nil || !ok {
			return nil, false, err
		}
	}
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return nil, false, nil
	}
	return raw, true, nil
}

func findMember(obj []byte, name string) ([]byte, bool, error) {
	i := skipSpace(obj, 0)
	if i < len(obj) && obj[i] == 'n' && string(bytes.TrimSpace(obj[i:])) == "null" {
		return nil, false, nil
	}
	if i >= len(obj) || obj[i] != '{' {
		return nil, false, ErrNotObject
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil, false, nil
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return nil, false, fmt.Errorf("%w: member name expected at %d", ErrInvalid, i)
		}
		kEnd, esc, err := skipString(obj, i)
		if err != nil {
			return nil, false, err
		}
		key := obj[i:kEnd]
		i = skipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return nil, false, fmt.Errorf("%w: ':' expected at %d", ErrInvalid, i)
		}
		i = skipSpace(obj, i+1)
		vEnd, err := skipValue(obj, i)
		if err != nil {
			return nil, false, err
		}
		match := false
		if esc {
			var k string
			if json.Unmarshal(key, &k) == nil && k == name {
				match = true
			}
		} else {
			match = string(key[1:len(key)-1]) == name
		}
		if match {
			return obj[i:vEnd], true, nil
		}
		i = skipSpace(obj, vEnd)
		if i >= len(obj) {
			return nil, false, fmt.Errorf("%w: unterminated object", ErrInvalid)
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return nil, false, nil
		default:
			return nil, false, fmt.Errorf("%w: ',' or '}' expected at %d", ErrInvalid, i)
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the end of the string starting at b[i] ('"') and
// whether it has escapes.
func skipString(b []byte, i int) (end int, esc bool, err error) {
	for i++; i < len(b); i++ {
		// Eight bytes at a time while none is a quote, a backslash or a
		// control character.
		for i+8 <= len(b) && !special8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		if i >= len(b) {
			break
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, esc, nil
		case c == '\\':
			esc = true
			i++
		case c < 0x20:
			return 0, false, fmt.Errorf("%w: control character in string", ErrInvalid)
		}
	}
	return 0, false, fmt.Errorf("%w: unterminated string", ErrInvalid)
}

// special8 reports whether any of eight bytes is '"', '\\' or below 0x20
// (bit tricks: a byte below n sets its high bit in x-n·0x01… where it
// was clear in x).
func special8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	below := func(v uint64, n uint64) uint64 { return (v - ones*n) & ^v & highs }
	return below(x, 0x20)|below(x^(ones*'"'), 1)|below(x^(ones*'\\'), 1) != 0
}

// skipValue returns the end of the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, fmt.Errorf("%w: value expected", ErrInvalid)
	}
	switch b[i] {
	case '"':
		end, _, err := skipString(b, i)
		return end, err
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end, _, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = end - 1
			case '{', '[':
				depth++
				if depth > maxMemberDepth {
					return 0, fmt.Errorf("%w: nested too deeply", ErrInvalid)
				}
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("%w: unterminated %c", ErrInvalid, b[i-1])
	}
	start := i
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if i == start {
				return 0, fmt.Errorf("%w: value expected at %d", ErrInvalid, i)
			}
			return i, nil
		}
		i++
	}
	return i, nil
}

// errType reports a member of another JSON type than the one read.
var errType = errors.New("jcs: member of another type")

// MemberString reads the string member at path: "" when absent or null,
// an error when it is not a string.
func MemberString(obj []byte, path ...string) (string, error) {
	raw, ok, err := Member(obj, path...)
	if err != nil || !ok {
		return "", err
	}
	return StringValue(raw)
}

// StringValue reads a member's raw value (from Member or Members) as a
// string, as MemberString does.
func StringValue(raw []byte) (string, error) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", fmt.Errorf("%w: %s is not a string", errType, raw)
	}
	if in := raw[1 : len(raw)-1]; bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return string(in), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%w: %w", errType, err)
	}
	return s, nil
}

// MemberUint reads the unsigned integer member at path: 0 when absent or
// null, an error when it is not an integer that fits.
func MemberUint(obj []byte, path ...string) (uint64, error) {
	raw, ok, err := Member(obj, path...)
	if err != nil || !ok {
		return 0, err
	}
	return UintValue(raw)
}

// UintValue reads a member's raw value as an unsigned integer, as
// MemberUint does.
func UintValue(raw []byte) (uint64, error) {
	n, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s is not an unsigned integer", errType, raw)
	}
	return n, nil
}

// MemberBool reads the boolean member at path: false when absent or null,
// an error when it is not a boolean.
func MemberBool(obj []byte, path ...string) (bool, error) {
	raw, ok, err := Member(obj, path...)
	if err != nil || !ok {
		return false, err
	}
	return BoolValue(raw)
}

// BoolValue reads a member's raw value as a boolean, as MemberBool does.
func BoolValue(raw []byte) (bool, error) {
	switch string(raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%w: %s is not a boolean", errType, raw)
}
