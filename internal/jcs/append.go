package jcs

// Appenders for callers that write a known, flat shape canonically
// without reflection (ids hashed on hot paths). Each writes exactly what
// Marshal writes for the same Go value.

// AppendString appends the canonical form of a Go string: invalid UTF-8
// bytes become U+FFFD, as encoding/json coerces them.
func AppendString(dst []byte, s string) []byte { return appendGoString(dst, s) }

// AppendInt appends the canonical form of an int64: as is up to 15
// digits, otherwise as the nearest double.
func AppendInt(dst []byte, n int64) []byte {
	out, _ := appendInt(dst, n) // an int64 is always a finite double
	return out
}

// AppendUint appends the canonical form of a uint64, as AppendInt.
func AppendUint(dst []byte, n uint64) []byte {
	out, _ := appendUint(dst, n)
	return out
}

// CompareNames orders object member names as the canonical form does: by
// their UTF-16 code units. The names must be valid UTF-8.
func CompareNames(a, b string) int { return compareNames(a, b) }
