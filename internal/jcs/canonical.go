package jcs

import (
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// Recognising text that is already canonical, without copying it. A
// payload encoded canonically once (by Marshal) is checked, not encoded
// again, wherever it is embedded or handed on as bytes: the check reads
// each byte once and allocates nothing, where Canonicalize copies every
// object's members to scratch space, sorts them and writes them out.

// IsCanonical reports whether in is the RFC 8785 canonical form of a JSON
// value: exactly what Canonicalize returns for it. It never allocates
// (a non-integer number is parsed and formatted on the stack).
func IsCanonical(in []byte) bool { return isCanonicalAt(in, 0) }

// isCanonicalAt is IsCanonical for a value nested depth arrays and
// objects deep (MaxDepth counts from the outermost, as for
// appendCanonicalAt).
func isCanonicalAt(in []byte, depth int) bool {
	end, ok := canonValue(in, 0, depth)
	return ok && end == len(in)
}

// canonValue checks the canonical value starting at in[i] and returns the
// index after it.
func canonValue(in []byte, i, depth int) (int, bool) {
	if i >= len(in) {
		return i, false
	}
	switch c := in[i]; {
	case c == '{':
		return canonObject(in, i, depth+1)
	case c == '[':
		return canonArray(in, i, depth+1)
	case c == '"':
		end, _, ok := canonString(in, i)
		return end, ok
	case c == 't':
		return canonLiteral(in, i, "true")
	case c == 'f':
		return canonLiteral(in, i, "false")
	case c == 'n':
		return canonLiteral(in, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return canonNumber(in, i)
	}
	return i, false
}

func canonLiteral(in []byte, i int, word string) (int, bool) {
	if len(in)-i < len(word) || string(in[i:i+len(word)]) != word {
		return i, false
	}
	return i + len(word), true
}

func canonArray(in []byte, i, depth int) (int, bool) {
	if depth > MaxDepth {
		return i, false
	}
	i++ // '['
	if i < len(in) && in[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = canonValue(in, i, depth); !ok || i >= len(in) {
			return i, false
		}
		switch in[i] {
		case ',':
			i++
		case ']':
			return i + 1, true
		default:
			return i, false
		}
	}
}

func canonObject(in []byte, i, depth int) (int, bool) {
	if depth > MaxDepth {
		return i, false
	}
	i++ // '{'
	if i < len(in) && in[i] == '}' {
		return i + 1, true
	}
	var (
		prev      []byte // the previous member's name, as written
		prevPlain bool
		first     = true
	)
	for {
		if i >= len(in) || in[i] != '"' {
			return i, false
		}
		end, plain, ok := canonString(in, i)
		if !ok {
			return i, false
		}
		name := in[i+1 : end-1]
		// Members in strictly ascending order of their names' UTF-16
		// code units: sorted, and no two alike.
		if !first && compareWritten(prev, prevPlain, name, plain) >= 0 {
			return i, false
		}
		prev, prevPlain, first = name, plain, false
		i = end
		if i >= len(in) || in[i] != ':' {
			return i, false
		}
		if i, ok = canonValue(in, i+1, depth); !ok || i >= len(in) {
			return i, false
		}
		switch in[i] {
		case ',':
			i++
		case '}':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// canonString checks the canonical string starting at in[i] (its opening
// quote) and returns the index after its closing quote; plain reports
// that it has no escapes and only ASCII, so its bytes order as its UTF-16
// code units do.
func canonString(in []byte, i int) (end int, plain, ok bool) {
	i++ // opening quote
	start := i
	plain = true
	for i < len(in) {
		c := in[i]
		switch {
		case c == '"':
			if !plain && !utf8.Valid(in[start:i]) {
				return i, false, false
			}
			return i + 1, plain, true
		case c < 0x20:
			return i, false, false // control characters are escaped
		case c >= 0x80:
			plain = false
			i++
		case c != '\\':
			i++
		default:
			plain = false
			n := canonEscape(in[i:])
			if n == 0 {
				return i, false, false
			}
			i += n
		}
	}
	return i, false, false
}

// canonEscape returns the length of the canonical escape sequence at the
// start of s (a backslash), or 0 if it is not one: \" \\ \b \t \n \f \r,
// and \u00xx (lowercase hex) for the other control characters only.
func canonEscape(s []byte) int {
	if len(s) < 2 {
		return 0
	}
	switch s[1] {
	case '"', '\\', 'b', 't', 'n', 'f', 'r':
		return 2
	case 'u':
		if len(s) < 6 || s[2] != '0' || s[3] != '0' || (s[4] != '0' && s[4] != '1') {
			return 0
		}
		h := s[5]
		var lo byte
		switch {
		case h >= '0' && h <= '9':
			lo = h - '0'
		case h >= 'a' && h <= 'f':
			lo = h - 'a' + 10
		default:
			return 0
		}
		switch r := (s[4]-'0')<<4 | lo; r {
		case '\b', '\t', '\n', '\f', '\r':
			return 0 // these have short forms
		}
		return 6
	}
	return 0
}

// compareWritten compares two member names as written in canonical
// strings by the UTF-16 code units of what they decode to.
func compareWritten(a []byte, aPlain bool, b []byte, bPlain bool) int {
	if aPlain && bPlain {
		return compareNames(unsafeString(a), unsafeString(b))
	}
	for len(a) > 0 && len(b) > 0 {
		ra, na := decodeWritten(a)
		rb, nb := decodeWritten(b)
		if ra != rb {
			return cmpRune(utf16Key(ra), utf16Key(rb))
		}
		a, b = a[na:], b[nb:]
	}
	return cmpRune(rune(len(a)), rune(len(b)))
}

func cmpRune(a, b rune) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// decodeWritten decodes the first character of a canonical string's
// contents (already checked): an escape or a UTF-8 sequence.
func decodeWritten(s []byte) (rune, int) {
	if s[0] != '\\' {
		return utf8.DecodeRune(s)
	}
	switch s[1] {
	case 'b':
		return '\b', 2
	case 't':
		return '\t', 2
	case 'n':
		return '\n', 2
	case 'f':
		return '\f', 2
	case 'r':
		return '\r', 2
	case 'u':
		lo := s[5] - '0'
		if s[5] >= 'a' {
			lo = s[5] - 'a' + 10
		}
		return rune((s[4]-'0')<<4 | lo), 6
	}
	return rune(s[1]), 2 // \" and \\
}

// canonNumber checks the canonical number starting at in[i]: what
// AppendNumber writes for its value.
func canonNumber(in []byte, i int) (int, bool) {
	start := i
	if in[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(in) && in[i] == '0' {
		i++
	} else if digits() == 0 {
		return i, false
	}
	plain := true
	if i < len(in) && in[i] == '.' {
		i++
		plain = false
		if digits() == 0 {
			return i, false
		}
	}
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		plain = false
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		if digits() == 0 {
			return i, false
		}
	}
	text := in[start:i]
	if plain && len(text) <= 15 {
		// Small integers are canonical as written, but for -0.
		return i, string(text) != "-0"
	}
	f, err := strconv.ParseFloat(unsafeString(text), 64)
	if err != nil {
		return i, false
	}
	var buf [32]byte
	out, err := AppendNumber(buf[:0], f)
	return i, err == nil && string(out) == string(text)
}

// unsafeString views b as a string for a call that neither keeps nor
// returns it (strconv.ParseFloat copies the text into any error).
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
