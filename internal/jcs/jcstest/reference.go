// Package jcstest holds a reference RFC 8785 canonicalizer for
// differential tests: the tree-building one package jcs used before its
// streaming one, with its own string and number writers (the code jcs
// had when chain records were first written), so that a change to jcs's
// encoders is checked against bytes it did not produce. jcs's
// FuzzAgainstReference, and the record encoders' tests in
// internal/authority, chain and internal/daemon, compare with it byte for
// byte.
package jcstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/weftos/weftos/internal/jcs"
)

// Canonicalize is the reference implementation of jcs.Canonicalize: the
// same output, and errors of the same class (jcs.ErrInvalid,
// jcs.ErrDuplicateKey, jcs.ErrNumber), for any input.
func Canonicalize(in []byte) ([]byte, error) {
	p := refParser{in: in}
	p.skipWS()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipWS()
	if p.pos != len(p.in) {
		return nil, p.errorf("trailing data")
	}
	return v.appendTo(nil), nil
}

type refKind uint8

const (
	rNull refKind = iota
	rTrue
	rFalse
	rNumber
	rString
	rArray
	rObject
)

type refValue struct {
	kind    refKind
	str     string // decoded string, or canonical number text
	items   []refValue
	members []refMember
}

type refMember struct {
	name  string
	key   []uint16
	value refValue
}

func (v *refValue) appendTo(dst []byte) []byte {
	switch v.kind {
	case rNull:
		return append(dst, "null"...)
	case rTrue:
		return append(dst, "true"...)
	case rFalse:
		return append(dst, "false"...)
	case rNumber:
		return append(dst, v.str...)
	case rString:
		return appendString(dst, v.str)
	case rArray:
		dst = append(dst, '[')
		for i := range v.items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = v.items[i].appendTo(dst)
		}
		return append(dst, ']')
	default:
		dst = append(dst, '{')
		for i := range v.members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, v.members[i].name)
			dst = append(dst, ':')
			dst = v.members[i].value.appendTo(dst)
		}
		return append(dst, '}')
	}
}

type refParser struct {
	in  []byte
	pos int
}

func (p *refParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: offset %d: %s", jcs.ErrInvalid, p.pos, fmt.Sprintf(format, args...))
}

func (p *refParser) skipWS() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *refParser) literal(word string, k refKind) (refValue, error) {
	if len(p.in)-p.pos < len(word) || string(p.in[p.pos:p.pos+len(word)]) != word {
		return refValue{}, p.errorf("invalid literal")
	}
	p.pos += len(word)
	return refValue{kind: k}, nil
}

func (p *refParser) value(depth int) (refValue, error) {
	if p.pos >= len(p.in) {
		return refValue{}, p.errorf("unexpected end of input")
	}
	switch c := p.in[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, err := p.string()
		return refValue{kind: rString, str: s}, err
	case c == 't':
		return p.literal("true", rTrue)
	case c == 'f':
		return p.literal("false", rFalse)
	case c == 'n':
		return p.literal("null", rNull)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return refValue{}, p.errorf("unexpected character %q", c)
	}
}

func (p *refParser) array(depth int) (refValue, error) {
	if depth > jcs.MaxDepth {
		return refValue{}, p.errorf("nesting deeper than %d", jcs.MaxDepth)
	}
	p.pos++ // '['
	v := refValue{kind: rArray}
	p.skipWS()
	if p.pos < len(p.in) && p.in[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		p.skipWS()
		item, err := p.value(depth)
		if err != nil {
			return refValue{}, err
		}
		v.items = append(v.items, item)
		p.skipWS()
		if p.pos >= len(p.in) {
			return refValue{}, p.errorf("unterminated array")
		}
		switch p.in[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return v, nil
		default:
			return refValue{}, p.errorf("expected ',' or ']' in array")
		}
	}
}

func (p *refParser) object(depth int) (refValue, error) {
	if depth > jcs.MaxDepth {
		return refValue{}, p.errorf("nesting deeper than %d", jcs.MaxDepth)
	}
	p.pos++ // '{'
	v := refValue{kind: rObject}
	p.skipWS()
	if p.pos < len(p.in) && p.in[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	for {
		p.skipWS()
		if p.pos >= len(p.in) || p.in[p.pos] != '"' {
			return refValue{}, p.errorf("expected refMember name")
		}
		name, err := p.string()
		if err != nil {
			return refValue{}, err
		}
		p.skipWS()
		if p.pos >= len(p.in) || p.in[p.pos] != ':' {
			return refValue{}, p.errorf("expected ':' after refMember name")
		}
		p.pos++
		p.skipWS()
		mv, err := p.value(depth)
		if err != nil {
			return refValue{}, err
		}
		v.members = append(v.members, refMember{name: name, value: mv})
		p.skipWS()
		if p.pos >= len(p.in) {
			return refValue{}, p.errorf("unterminated object")
		}
		if p.in[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.in[p.pos] != '}' {
			return refValue{}, p.errorf("expected ',' or '}' in object")
		}
		p.pos++
		break
	}
	if err := refSortMembers(v.members); err != nil {
		return refValue{}, err
	}
	return v, nil
}

// refSortMembers orders members by the UTF-16 code units of their names
// (RFC 8785 section 3.2.3) and rejects duplicates.
func refSortMembers(ms []refMember) error {
	if len(ms) < 2 {
		return nil
	}
	ascii := true
	for i := range ms {
		for j := 0; j < len(ms[i].name); j++ {
			if ms[i].name[j] >= 0x80 {
				ascii = false
			}
		}
	}
	if ascii {
		// For ASCII, byte order equals UTF-16 code unit order.
		slices.SortFunc(ms, func(a, b refMember) int {
			switch {
			case a.name < b.name:
				return -1
			case a.name > b.name:
				return 1
			}
			return 0
		})
	} else {
		for i := range ms {
			ms[i].key = utf16.Encode([]rune(ms[i].name))
		}
		slices.SortFunc(ms, func(a, b refMember) int { return slices.Compare(a.key, b.key) })
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].name == ms[i-1].name {
			return fmt.Errorf("%w: %q", jcs.ErrDuplicateKey, ms[i].name)
		}
	}
	return nil
}

func (p *refParser) number() (refValue, error) {
	start := p.pos
	if p.in[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.in) && p.in[p.pos] >= '0' && p.in[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.pos < len(p.in) && p.in[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return refValue{}, p.errorf("invalid number")
	}
	if p.pos < len(p.in) && p.in[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return refValue{}, p.errorf("invalid number fraction")
		}
	}
	if p.pos < len(p.in) && (p.in[p.pos] == 'e' || p.in[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.in) && (p.in[p.pos] == '+' || p.in[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return refValue{}, p.errorf("invalid number exponent")
		}
	}
	text := p.in[start:p.pos]
	// Fast path: small integers are already canonical.
	if len(text) <= 15 && refIsPlainInt(text) {
		if string(text) == "-0" {
			return refValue{kind: rNumber, str: "0"}, nil
		}
		return refValue{kind: rNumber, str: string(text)}, nil
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		return refValue{}, fmt.Errorf("%w: %q", jcs.ErrNumber, text)
	}
	out, err := appendNumber(nil, f)
	if err != nil {
		return refValue{}, err
	}
	return refValue{kind: rNumber, str: string(out)}, nil
}

func refIsPlainInt(b []byte) bool {
	for i, c := range b {
		if c == '-' && i == 0 {
			continue
		}
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (p *refParser) string() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		if c == '"' {
			s := p.in[start:p.pos]
			if !utf8.Valid(s) {
				return "", p.errorf("invalid UTF-8 in string")
			}
			p.pos++
			return string(s), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.pos++
	}
	buf := append([]byte(nil), p.in[start:p.pos]...)
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !utf8.Valid(buf) {
				return "", p.errorf("invalid UTF-8 in string")
			}
			return string(buf), nil
		case c < 0x20:
			return "", p.errorf("control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		p.pos++
		if p.pos >= len(p.in) {
			break
		}
		e := p.in[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, err := p.hex4()
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) {
				if r >= 0xdc00 || len(p.in)-p.pos < 6 || p.in[p.pos] != '\\' || p.in[p.pos+1] != 'u' {
					return "", p.errorf("lone surrogate in string")
				}
				p.pos += 2
				r2, err := p.hex4()
				if err != nil {
					return "", err
				}
				r = utf16.DecodeRune(r, r2)
				if r == utf8.RuneError {
					return "", p.errorf("invalid surrogate pair in string")
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.errorf("invalid escape %q", e)
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *refParser) hex4() (rune, error) {
	if len(p.in)-p.pos < 4 {
		return 0, p.errorf("short unicode escape")
	}
	var r rune
	for _, c := range p.in[p.pos : p.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, p.errorf("invalid unicode escape")
		}
	}
	p.pos += 4
	return r, nil
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string per RFC 8785 section 3.2.2.2.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			dst = append(dst, '\\', '"')
		case c == '\\':
			dst = append(dst, '\\', '\\')
		case c >= 0x20:
			dst = append(dst, c)
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
	}
	return append(dst, '"')
}

// AppendNumber is the reference for jcs.AppendNumber: the ECMAScript
// serialization of f (RFC 8785 section 3.2.2.3).
func AppendNumber(dst []byte, f float64) ([]byte, error) { return appendNumber(dst, f) }

func appendNumber(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, jcs.ErrNumber
	}
	if f == 0 {
		return append(dst, '0'), nil // also -0
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	// Shortest round-tripping digits: "d.ddddde±xx".
	e := strconv.AppendFloat(nil, f, 'e', -1, 64)
	ePos := slices.Index(e, 'e')
	mant, expPart := e[:ePos], e[ePos+1:]
	var digits []byte
	for _, c := range mant {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	exp, err := strconv.Atoi(string(expPart))
	if err != nil {
		return dst, fmt.Errorf("%w: %v", jcs.ErrNumber, err)
	}
	k, n := len(digits), exp+1 // n: position of the decimal point relative to the digits
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits...)
		dst = append(dst, bytes.Repeat([]byte("0"), n-k)...)
	case 0 < n && n <= 21:
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, "0."...)
		dst = append(dst, bytes.Repeat([]byte("0"), -n)...)
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst, nil
}

// Marshal is the reference for jcs.Marshal: encoding/json's text,
// canonicalized by the reference canonicalizer.
func Marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return Canonicalize(b)
}

// CheckMarshal fails tb unless jcs.Marshal(v) gives the reference's bytes,
// or fails where it fails: for testing a jcs.Appender, or any encoder
// that must write what jcs.Marshal does.
func CheckMarshal(tb testing.TB, v any) {
	tb.Helper()
	got, err := jcs.Marshal(v)
	want, werr := Marshal(v)
	if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
		tb.Fatalf("jcs.Marshal(%#v) =\n%s, %v\nreference:\n%s, %v", v, got, err, want, werr)
	}
}
