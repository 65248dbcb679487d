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
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
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
// Values of the common types are written canonically in one pass (see
// encode.go), with the same result.
func Marshal(v any) ([]byte, error) {
	sp := scratch.Get().(*[]byte)
	out, err := appendValue((*sp)[:0], v)
	if err != nil {
		scratch.Put(sp)
		return marshalGeneral(v)
	}
	// The result is kept by the caller (a chain record is held until it
	// is on disk): exactly its size, the scratch reused.
	b := make([]byte, len(out))
	copy(b, out)
	if cap(out) <= 64<<10 {
		*sp = out
		scratch.Put(sp)
	}
	return b, nil
}

// scratch holds the buffers Marshal encodes into.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// marshalGeneral is Marshal by way of encoding/json and Canonicalize.
func marshalGeneral(v any) ([]byte, error) {
	e := encoders.Get().(*encoder)
	defer e.put()
	// Encode (not json.Marshal) so that <, > and & are not escaped: the
	// canonical form has them raw, and strings without escapes are copied
	// as they are.
	if err := e.enc.Encode(v); err != nil {
		return nil, fmt.Errorf("jcs: marshal: %w", err)
	}
	return Canonicalize(e.buf.Bytes())
}

// encoder is a reusable JSON encoder writing to its own buffer.
type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var encoders = sync.Pool{New: func() any {
	e := &encoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

func (e *encoder) put() {
	if e.buf.Cap() > 64<<10 {
		return // do not keep a large payload's buffer
	}
	e.buf.Reset()
	encoders.Put(e)
}

// Canonicalize returns the RFC 8785 canonical form of the JSON text in.
func Canonicalize(in []byte) ([]byte, error) {
	return AppendCanonical(make([]byte, 0, len(in)), in)
}

// AppendCanonical appends the canonical form of in to dst. On error dst is
// returned unchanged.
func AppendCanonical(dst, in []byte) ([]byte, error) { return appendCanonicalAt(dst, in, 0) }

// appendCanonicalAt is AppendCanonical for a value nested depth arrays
// and objects deep (MaxDepth counts from the outermost).
func appendCanonicalAt(dst, in []byte, depth int) ([]byte, error) {
	p := parsers.Get().(*parser)
	defer p.put()
	p.in, p.pos = in, 0
	start := len(dst)
	p.skipWS()
	out, err := p.value(dst, depth)
	if err != nil {
		return dst[:start], err
	}
	p.skipWS()
	if p.pos != len(p.in) {
		return dst[:start], p.errorf("trailing data")
	}
	return out, nil
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string per RFC 8785 section 3.2.2.2.
func appendString[S string | []byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		// Copy the run of characters written as they are at once.
		j := i
		for j < len(s) && s[j] >= 0x20 && s[j] != '"' && s[j] != '\\' {
			j++
		}
		dst = append(dst, s[i:j]...)
		if i = j; i == len(s) {
			break
		}
		c := s[i]
		switch {
		case c == '"':
			dst = append(dst, '\\', '"')
		case c == '\\':
			dst = append(dst, '\\', '\\')
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
	if f >= 1e-6 && f < 1e21 {
		// ECMAScript writes these without an exponent: the shortest
		// round-tripping digits (the same in every format) with the
		// decimal point where it falls, as 'f' does. 1e21 is a double,
		// and 1e-6 the nearest one to 10⁻⁶, so the bounds on f are the
		// bounds on the shortest decimal (rounding is monotonic).
		return strconv.AppendFloat(dst, f, 'f', -1, 64), nil
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

// parser canonicalizes in one pass, without building a tree: scalars and
// arrays are written straight to the output; an object's member values
// are written to a scratch buffer of its depth, then copied out in the
// order of their names. Strings without escapes are copied as they are
// (they are already canonical).
type parser struct {
	in     []byte
	pos    int
	levels []*level // scratch per object depth
	tmp    []byte   // a decoded string
}

// level is the scratch of objects at one depth: the decoded member names
// and canonical values (in buf) and where each is.
type level struct {
	buf     []byte
	members []member
}

// member locates one member's decoded name and canonical value in its
// level's buf.
type member struct {
	name, value span
}

type span struct{ start, end int32 }

var parsers = sync.Pool{New: func() any { return new(parser) }}

func (p *parser) put() {
	p.in = nil
	for _, l := range p.levels {
		if cap(l.buf) > 64<<10 || cap(l.members) > 1024 {
			p.levels = nil // do not keep a large document's scratch
			break
		}
	}
	if cap(p.tmp) > 64<<10 {
		p.tmp = nil
	}
	parsers.Put(p)
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

func (p *parser) literal(dst []byte, word string) ([]byte, error) {
	if len(p.in)-p.pos < len(word) || string(p.in[p.pos:p.pos+len(word)]) != word {
		return dst, p.errorf("invalid literal")
	}
	p.pos += len(word)
	return append(dst, word...), nil
}

// value appends the canonical form of the value at p.pos to dst.
func (p *parser) value(dst []byte, depth int) ([]byte, error) {
	if p.pos >= len(p.in) {
		return dst, p.errorf("unexpected end of input")
	}
	switch c := p.in[p.pos]; {
	case c == '{':
		return p.object(dst, depth+1)
	case c == '[':
		return p.array(dst, depth+1)
	case c == '"':
		return p.stringValue(dst)
	case c == 't':
		return p.literal(dst, "true")
	case c == 'f':
		return p.literal(dst, "false")
	case c == 'n':
		return p.literal(dst, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(dst)
	default:
		return dst, p.errorf("unexpected character %q", c)
	}
}

func (p *parser) array(dst []byte, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return dst, p.errorf("nesting deeper than %d", MaxDepth)
	}
	p.pos++ // '['
	dst = append(dst, '[')
	p.skipWS()
	if p.pos < len(p.in) && p.in[p.pos] == ']' {
		p.pos++
		return append(dst, ']'), nil
	}
	for {
		p.skipWS()
		var err error
		if dst, err = p.value(dst, depth); err != nil {
			return dst, err
		}
		p.skipWS()
		if p.pos >= len(p.in) {
			return dst, p.errorf("unterminated array")
		}
		switch p.in[p.pos] {
		case ',':
			p.pos++
			dst = append(dst, ',')
		case ']':
			p.pos++
			return append(dst, ']'), nil
		default:
			return dst, p.errorf("expected ',' or ']' in array")
		}
	}
}

// level returns the scratch of depth, emptied.
func (p *parser) level(depth int) *level {
	for len(p.levels) <= depth {
		p.levels = append(p.levels, new(level))
	}
	l := p.levels[depth]
	l.buf, l.members = l.buf[:0], l.members[:0]
	return l
}

func (p *parser) object(dst []byte, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return dst, p.errorf("nesting deeper than %d", MaxDepth)
	}
	p.pos++ // '{'
	p.skipWS()
	if p.pos < len(p.in) && p.in[p.pos] == '}' {
		p.pos++
		return append(dst, '{', '}'), nil
	}
	l := p.level(depth)
	ascii := true
	for {
		p.skipWS()
		if p.pos >= len(p.in) || p.in[p.pos] != '"' {
			return dst, p.errorf("expected member name")
		}
		var m member
		m.name.start = int32(len(l.buf))
		var err error
		if l.buf, err = p.decodeString(l.buf); err != nil {
			return dst, err
		}
		m.name.end = int32(len(l.buf))
		for _, c := range l.buf[m.name.start:m.name.end] {
			if c >= 0x80 {
				ascii = false
				break
			}
		}
		p.skipWS()
		if p.pos >= len(p.in) || p.in[p.pos] != ':' {
			return dst, p.errorf("expected ':' after member name")
		}
		p.pos++
		p.skipWS()
		m.value.start = int32(len(l.buf))
		if l.buf, err = p.value(l.buf, depth); err != nil {
			return dst, err
		}
		m.value.end = int32(len(l.buf))
		l.members = append(l.members, m)
		p.skipWS()
		if p.pos >= len(p.in) {
			return dst, p.errorf("unterminated object")
		}
		if p.in[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.in[p.pos] != '}' {
			return dst, p.errorf("expected ',' or '}' in object")
		}
		p.pos++
		break
	}
	if err := l.sortMembers(ascii); err != nil {
		return dst, err
	}
	dst = append(dst, '{')
	for i, m := range l.members {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, l.buf[m.name.start:m.name.end])
		dst = append(dst, ':')
		dst = append(dst, l.buf[m.value.start:m.value.end]...)
	}
	return append(dst, '}'), nil
}

// sortMembers orders members by the UTF-16 code units of their names
// (RFC 8785 section 3.2.3) and rejects duplicates.
func (l *level) sortMembers(ascii bool) error {
	ms, buf := l.members, l.buf
	if len(ms) < 2 {
		return nil
	}
	name := func(m member) []byte { return buf[m.name.start:m.name.end] }
	if ascii {
		// For ASCII, byte order equals UTF-16 code unit order. Encoders
		// often emit members in order already.
		sorted := true
		for i := 1; i < len(ms) && sorted; i++ {
			sorted = bytes.Compare(name(ms[i-1]), name(ms[i])) < 0
		}
		if !sorted {
			slices.SortFunc(ms, func(a, b member) int { return bytes.Compare(name(a), name(b)) })
		}
	} else {
		slices.SortFunc(ms, func(a, b member) int { return compareUTF16(name(a), name(b)) })
	}
	for i := 1; i < len(ms); i++ {
		if bytes.Equal(name(ms[i]), name(ms[i-1])) {
			return fmt.Errorf("%w: %q", ErrDuplicateKey, name(ms[i]))
		}
	}
	return nil
}

// compareUTF16 compares valid UTF-8 strings by their UTF-16 code units.
// UTF-16 order differs from code point order only where a supplementary
// character (a surrogate pair, 0xD800-0xDFFF) meets one in 0xE000-0xFFFF.
func compareUTF16(a, b []byte) int {
	for len(a) > 0 && len(b) > 0 {
		ra, na := utf8.DecodeRune(a)
		rb, nb := utf8.DecodeRune(b)
		if ra != rb {
			return cmp.Compare(utf16Key(ra), utf16Key(rb))
		}
		a, b = a[na:], b[nb:]
	}
	return cmp.Compare(len(a), len(b))
}

// utf16Key maps a rune to a number that orders distinct runes as their
// UTF-16 encodings order: the first code unit in the high bits, the low
// 10 bits of the second (for a surrogate pair) below them.
func utf16Key(r rune) rune {
	if r >= 0x10000 {
		c := r - 0x10000
		return (0xd800+c>>10)<<10 | c&0x3ff
	}
	return r << 10
}

func (p *parser) number(dst []byte) ([]byte, error) {
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
		return dst, p.errorf("invalid number")
	}
	if p.pos < len(p.in) && p.in[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return dst, p.errorf("invalid number fraction")
		}
	}
	if p.pos < len(p.in) && (p.in[p.pos] == 'e' || p.in[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.in) && (p.in[p.pos] == '+' || p.in[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return dst, p.errorf("invalid number exponent")
		}
	}
	text := p.in[start:p.pos]
	// Fast path: small integers are already canonical.
	if len(text) <= 15 && isPlainInt(text) {
		if string(text) == "-0" {
			return append(dst, '0'), nil
		}
		return append(dst, text...), nil
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		return dst, fmt.Errorf("%w: %q", ErrNumber, text)
	}
	out, err := AppendNumber(dst, f)
	if err != nil {
		return dst, err
	}
	return out, nil
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

// stringValue appends the canonical form of the string at p.pos.
func (p *parser) stringValue(dst []byte) ([]byte, error) {
	start := p.pos
	if raw, ok := p.plainString(); ok {
		// No escapes, no control characters, valid UTF-8: canonical as is.
		return append(dst, p.in[start:start+len(raw)+2]...), nil
	}
	p.pos = start
	var err error
	if p.tmp, err = p.decodeString(p.tmp[:0]); err != nil {
		return dst, err
	}
	return appendString(dst, p.tmp), nil
}

// plainString consumes a string at p.pos that needs no decoding and
// returns its contents; ok is false (p.pos anywhere) when it needs more.
func (p *parser) plainString() (raw []byte, ok bool) {
	p.pos++ // opening quote
	start := p.pos
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		if c == '"' {
			s := p.in[start:p.pos]
			if !utf8.Valid(s) {
				return nil, false
			}
			p.pos++
			return s, true
		}
		if c == '\\' || c < 0x20 {
			return nil, false
		}
		p.pos++
	}
	return nil, false
}

// decodeString consumes the string at p.pos and appends its decoded
// contents to buf.
func (p *parser) decodeString(buf []byte) ([]byte, error) {
	start := p.pos
	if raw, ok := p.plainString(); ok {
		return append(buf, raw...), nil
	}
	p.pos = start + 1
	from := len(buf)
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !utf8.Valid(buf[from:]) {
				return buf, p.errorf("invalid UTF-8 in string")
			}
			return buf, nil
		case c < 0x20:
			return buf, p.errorf("control character in string")
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
				return buf, err
			}
			if utf16.IsSurrogate(r) {
				if r >= 0xdc00 || len(p.in)-p.pos < 6 || p.in[p.pos] != '\\' || p.in[p.pos+1] != 'u' {
					return buf, p.errorf("lone surrogate in string")
				}
				p.pos += 2
				r2, err := p.hex4()
				if err != nil {
					return buf, err
				}
				r = utf16.DecodeRune(r, r2)
				if r == utf8.RuneError {
					return buf, p.errorf("invalid surrogate pair in string")
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return buf, p.errorf("invalid escape %q", e)
		}
	}
	return buf, p.errorf("unterminated string")
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
