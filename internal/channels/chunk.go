package channels

import (
	"strings"
	"unicode/utf8"
)

// Chunk splits text into pieces of at most limit units as the platform
// counts them (count: bytes, runes, UTF-16 units), preferring to break at a
// paragraph, then a line, then a space, and never inside a rune. An empty
// text gives no chunk.
func Chunk(text string, limit int, count func(string) int) []string {
	if count == nil {
		count = utf8.RuneCountInString
	}
	var out []string
	for text != "" {
		if count(text) <= limit {
			out = append(out, text)
			break
		}
		// The longest prefix within the limit, on a rune boundary.
		cut := prefixWithin(text, limit, count)
		piece := text[:cut]
		for _, sep := range []string{"\n\n", "\n", " "} {
			if i := strings.LastIndex(piece, sep); i > len(piece)/2 {
				cut = i + len(sep)
				break
			}
		}
		out = append(out, text[:cut])
		text = text[cut:]
	}
	return out
}

// prefixWithin returns the byte length of the longest prefix of s (on a
// rune boundary, at least one rune) whose count is within limit; count
// must grow with the prefix.
func prefixWithin(s string, limit int, count func(string) int) int {
	// Every platform counts a rune as at least one unit: the prefix ends
	// within the first limit runes.
	var offs []int // rune ends
	for i := range s {
		if i > 0 {
			offs = append(offs, i)
		}
		if len(offs) > limit {
			break
		}
	}
	if len(offs) <= limit {
		offs = append(offs, len(s))
	}
	lo, hi := 0, len(offs)-1 // find the last offs[k] within the limit
	best := offs[0]
	for lo <= hi {
		mid := (lo + hi) / 2
		if count(s[:offs[mid]]) <= limit {
			best = offs[mid]
			lo = mid + 1
		} else {
			hi = mid - 1
		}
	}
	return best
}

// UTF16Len counts UTF-16 code units, as Telegram counts message length.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}
