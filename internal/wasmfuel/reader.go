package wasmfuel

import (
	"errors"
	"fmt"
)

// ErrMalformed reports that the input is not a well-formed WebAssembly
// binary (bad magic, truncated section, bad LEB128, unbalanced blocks…).
var ErrMalformed = errors.New("malformed wasm module")

// ErrUnsupported reports a well-formed construct that the instrumenter does
// not handle (an unknown opcode, an unsupported proposal such as threads or
// exception handling, or an export-name clash).
var ErrUnsupported = errors.New("unsupported wasm feature")

// reader is a bounds-checked cursor over a byte slice. Every method returns
// an error instead of panicking on truncated input.
type reader struct {
	b   []byte
	pos int
	// base is added to pos in error messages so offsets refer to the whole
	// module rather than to a sub-slice.
	base int
}

func (r *reader) errf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s: %w", r.base+r.pos, fmt.Sprintf(format, args...), ErrMalformed)
}

func (r *reader) eof() bool { return r.pos >= len(r.b) }

func (r *reader) remaining() int { return len(r.b) - r.pos }

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, r.errf("unexpected end of input")
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) bytes(n int) ([]byte, error) {
	if n < 0 || n > r.remaining() {
		return nil, r.errf("length %d exceeds remaining %d bytes", n, r.remaining())
	}
	s := r.b[r.pos : r.pos+n]
	r.pos += n
	return s, nil
}

// u32 decodes an unsigned LEB128 value of at most 32 bits (5 bytes).
func (r *reader) u32() (uint32, error) {
	var v uint64
	for i := 0; i < 5; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if i == 4 && c > 0x0f {
				return 0, r.errf("u32 LEB128 overflow")
			}
			return uint32(v), nil
		}
	}
	return 0, r.errf("u32 LEB128 too long")
}

// sleb decodes a signed LEB128 value of at most bits bits.
func (r *reader) sleb(bits int) (int64, error) {
	var v int64
	var shift int
	maxBytes := (bits + 6) / 7
	for i := 0; i < maxBytes; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if i == maxBytes-1 {
				// The unused high bits of the last byte must all equal the sign bit.
				used := uint(bits - 7*(maxBytes-1)) // bits carried by the last byte
				sign := (c >> (used - 1)) & 1
				high := c >> used
				if (sign == 0 && high != 0) || (sign == 1 && high != byte(1<<(7-used))-1) {
					return 0, r.errf("s%d LEB128 overflow", bits)
				}
			}
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, nil
		}
	}
	return 0, r.errf("s%d LEB128 too long", bits)
}

// name reads a length-prefixed UTF-8 name.
func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	b, err := r.bytes(int(n))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
