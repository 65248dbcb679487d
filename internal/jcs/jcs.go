// Package jcs implements the JSON Canonicalization Scheme of RFC 8785:
// object members sorted by the UTF-16 code units of their names, no
// insignificant whitespace, strings escaped minimally (no HTML escaping) and
// numbers serialized like ECMAScript's Number.prototype.toString.
//
// Input must be I-JSON (RFC 7493): valid UTF-8, no duplicate member names and
// numbers representable as IEEE 754 doubles. Anything else is rejected with an
// error wrapping ErrInvalid; the package never panics on bad input.
package jcs

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds the nesting of arrays and objects accepted by Canonicalize.
const MaxDepth = 512

var (
	// ErrInvalid is wrapped by every error caused by malformed or non-I-JSON input.
	ErrInvalid = errors.New("jcs: invalid input")
	// ErrDuplicateKey reports an object with two members of the same name.
	ErrDuplicateKey = fmt.Errorf("%w: duplicate object member name", ErrInvalid)
	// ErrNumber reports a number that is not a finite IEEE 754 double.
	ErrNumber = fmt.Errorf("%w: number not representable as a finite double", ErrInvalid)
)

// Marshal encodes v with encoding/json and returns its canonical form.
func Marshal(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("jcs: marshal: %w", err)
	}
	return Canonicalize(raw)
}

// Canonicalize returns the RFC 8785 canonical form of the JSON text in.
func Canonicalize(in []byte) ([]byte, error) {
	return AppendCanonical(make([]byte, 0, len(in)), in)
}

// AppendCanonical appends the canonical form of in to dst.
func AppendCanonical(dst, in []byte) ([]byte, error) {
	p := parser{in: in}
	p.skipWS()
	v, err := p.value(0)
	if err != nil {
		return dst, err
	}
	p.skipWS()
	if p.pos != len(p.in) {
		return dst, p.errorf("trailing data")
	}
	return v.appendTo(dst), nil
}

type kind uint8

const (
	kNull kind = iota
	kTrue
	kFalse
	kNumber
	kString
	kArray
	kObject
)

type value struct {
	kind    kind
	str     string // decoded string, or canonical number text
	items   []value
	members []member
}

type member struct {
	name  string
	key   []uint16
	value value
}

func (v *value) appendTo(dst []byte) []byte {
	switch v.kind {
	case kNull:
		return append(dst, "null"...)
	case kTrue:
		return append(dst, "true"...)
	case kFalse:
		return append(dst, "false"...)
	case kNumber:
		return append(dst, v.str...)
	case kString:
		return appendString(dst, v.str)
	case kArray:
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

// AppendNumber appends the ECMAScript serialization of f (RFC 8785 section
// 3.2.2.3). NaN and infinities are rejected.
func AppendNumber(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, ErrNumber
	}
	if f == 0 {
		return append(dst, '0'), nil // also -0
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	// Shortest round-tripping digits: "d.ddddde±xx".
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	ePos := slices.Index(e, 'e')
	mant, expPart := e[:ePos], e[ePos+1:]
	var digits [24]byte
	k := 0
	for _, c := range mant {
		if c != '.' {
			digits[k] = c
			k++
		}
	}
	exp, err := strconv.Atoi(string(expPart))
	if err != nil {
		return dst, fmt.Errorf("%w: %v", ErrNumber, err)
	}
	n := exp + 1 // position of the decimal point relative to the digits
	s := digits[:k]
	switch {
	case k <= n && n <= 21:
		dst = append(dst, s...)
		for i := k; i < n; i++ {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, s[:n]...)
		dst = append(dst, '.')
		dst = append(dst, s[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for i := 0; i < -n; i++ {
			dst = append(dst, '0')
		}
		dst = append(dst, s...)
	default:
		dst = append(dst, s[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, s[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst, nil
}

type parser struct {
	in  []byte
	pos int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: offset %d: %s", ErrInvalid, p.pos, fmt.Sprintf(format, args...))
}

func (p *parser) skipWS() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) literal(word string, k kind) (value, error) {
	if len(p.in)-p.pos < len(word) || string(p.in[p.pos:p.pos+len(word)]) != word {
		return value{}, p.errorf("invalid literal")
	}
	p.pos += len(word)
	return value{kind: k}, nil
}

func (p *parser) value(depth int) (value, error) {
	if p.pos >= len(p.in) {
		return value{}, p.errorf("unexpected end of input")
	}
	switch c := p.in[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, err := p.string()
		return value{kind: kString, str: s}, err
	case c == 't':
		return p.literal("true", kTrue)
	case c == 'f':
		return p.literal("false", kFalse)
	case c == 'n':
		return p.literal("null", kNull)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return value{}, p.errorf("unexpected character %q", c)
	}
}

func (p *parser) array(depth int) (value, error) {
	if depth > MaxDepth {
		return value{}, p.errorf("nesting deeper than %d", MaxDepth)
	}
	p.pos++ // '['
	v := value{kind: kArray}
	p.skipWS()
	if p.pos < len(p.in) && p.in[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		p.skipWS()
		item, err := p.value(depth)
		if err != nil {
			return value{}, err
		}
		v.items = append(v.items, item)
		p.skipWS()
		if p.pos >= len(p.in) {
			return value{}, p.errorf("unterminated array")
		}
		switch p.in[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return v, nil
		default:
			return value{}, p.errorf("expected ',' or ']' in array")
		}
	}
}

func (p *parser) object(depth int) (value, error) {
	if depth > MaxDepth {
		return value{}, p.errorf("nesting deeper than %d", MaxDepth)
	}
	p.pos++ // '{'
	v := value{kind: kObject}
	p.skipWS()
	if p.pos < len(p.in) && p.in[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	for {
		p.skipWS()
		if p.pos >= len(p.in) || p.in[p.pos] != '"' {
			return value{}, p.errorf("expected member name")
		}
		name, err := p.string()
		if err != nil {
			return value{}, err
		}
		p.skipWS()
		if p.pos >= len(p.in) || p.in[p.pos] != ':' {
			return value{}, p.errorf("expected ':' after member name")
		}
		p.pos++
		p.skipWS()
		mv, err := p.value(depth)
		if err != nil {
			return value{}, err
		}
		v.members = append(v.members, member{name: name, value: mv})
		p.skipWS()
		if p.pos >= len(p.in) {
			return value{}, p.errorf("unterminated object")
		}
		if p.in[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.in[p.pos] != '}' {
			return value{}, p.errorf("expected ',' or '}' in object")
		}
		p.pos++
		break
	}
	if err := sortMembers(v.members); err != nil {
		return value{}, err
	}
	return v, nil
}

// sortMembers orders members by the UTF-16 code units of their names
// (RFC 8785 section 3.2.3) and rejects duplicates.
func sortMembers(ms []member) error {
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
		slices.SortFunc(ms, func(a, b member) int {
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
		slices.SortFunc(ms, func(a, b member) int { return slices.Compare(a.key, b.key) })
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].name == ms[i-1].name {
			return fmt.Errorf("%w: %q", ErrDuplicateKey, ms[i].name)
		}
	}
	return nil
}

func (p *parser) number() (value, error) {
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
		return value{}, p.errorf("invalid number")
	}
	if p.pos < len(p.in) && p.in[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return value{}, p.errorf("invalid number fraction")
		}
	}
	if p.pos < len(p.in) && (p.in[p.pos] == 'e' || p.in[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.in) && (p.in[p.pos] == '+' || p.in[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return value{}, p.errorf("invalid number exponent")
		}
	}
	text := p.in[start:p.pos]
	// Fast path: small integers are already canonical.
	if len(text) <= 15 && isPlainInt(text) {
		if string(text) == "-0" {
			return value{kind: kNumber, str: "0"}, nil
		}
		return value{kind: kNumber, str: string(text)}, nil
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		return value{}, fmt.Errorf("%w: %q", ErrNumber, text)
	}
	out, err := AppendNumber(nil, f)
	if err != nil {
		return value{}, err
	}
	return value{kind: kNumber, str: string(out)}, nil
}

func isPlainInt(b []byte) bool {
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

func (p *parser) string() (string, error) {
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

func (p *parser) hex4() (rune, error) {
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
