// Package clip shortens text for display without splitting a character:
// a cut at a byte count lands on a UTF-8 rune boundary, so valid text
// stays valid.
package clip

import "unicode/utf8"

// String returns the longest prefix of s of at most n bytes that does not
// end inside a multi-byte character (s itself when it is short enough).
func String(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Ellipsis is String with "…" appended when s was cut.
func Ellipsis(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return String(s, n) + "…"
}
