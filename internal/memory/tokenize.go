package memory

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/weftos/weftos/internal/stopword"
)

// maxTokenBytes bounds one indexed term; longer runs are cut (a base64
// blob or a hash must not make a huge dictionary entry).
const maxTokenBytes = 64

// tokenize splits text into the terms the lexical index stores: runs of
// letters and digits, lower-cased, apostrophe suffixes dropped ("Melanie's"
// → "melanie"), English function words removed, and each word reduced by
// stem. It appends to dst and returns it.
func tokenize(dst []string, text string) []string {
	i := 0
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			i += size
			continue
		}
		start := i
		for i < len(text) {
			r, size = utf8.DecodeRuneInString(text[i:])
			if !isWordRune(r) {
				break
			}
			i += size
		}
		word := text[start:i]
		// "Melanie's", "don't": skip the apostrophe suffix.
		if i < len(text) && (text[i] == '\'' || strings.HasPrefix(text[i:], "’")) {
			j := i + 1
			if text[i] != '\'' {
				j = i + len("’")
			}
			k := j
			for k < len(text) {
				r, size = utf8.DecodeRuneInString(text[k:])
				if !isWordRune(r) {
					break
				}
				k += size
			}
			if k-j <= 2 { // 's, 't, 're, 've, 'll, 'd, 'm
				i = k
			}
		}
		w := strings.ToLower(word)
		if len(w) > maxTokenBytes {
			w = w[:maxTokenBytes]
			for !utf8.ValidString(w) {
				w = w[:len(w)-1]
			}
		}
		if stopped(w) {
			continue
		}
		dst = append(dst, stem(w))
	}
	return dst
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// stem is a light English suffix stripper (in the spirit of Porter's step
// 1 and Harman's S-stemmer): plurals, -ing, -ed, -ly and a few derivational
// endings, applied only when a stem of at least three letters with a vowel
// remains. It conflates "paints/painted/painting" and "camping/camps" —
// the inflections that decide most of LoCoMo's lexical misses — without
// Porter's over-stemming of short words. Deterministic; pinned by tests.
func stem(w string) string {
	if len(w) <= 3 || !isASCIILower(w) {
		return w
	}
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		w = w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses"):
		w = w[:len(w)-2]
	case strings.HasSuffix(w, "ss"), strings.HasSuffix(w, "us"), strings.HasSuffix(w, "is"):
	case strings.HasSuffix(w, "s"):
		w = w[:len(w)-1]
	}
	for _, suf := range [...]string{"ingly", "edly", "ing", "ed"} {
		if strings.HasSuffix(w, suf) {
			if base := w[:len(w)-len(suf)]; len(base) >= 3 && hasVowel(base) {
				w = undouble(base)
				break
			}
		}
	}
	for _, r := range [...]struct{ suf, rep string }{
		{"fulness", "ful"}, {"ousness", "ous"}, {"iveness", "ive"}, {"ational", "ate"},
		{"ization", "ize"}, {"ation", "ate"}, {"ness", ""}, {"ment", ""}, {"ly", ""},
	} {
		if strings.HasSuffix(w, r.suf) {
			if base := w[:len(w)-len(r.suf)]; len(base) >= 3 && hasVowel(base) {
				w = base + r.rep
				break
			}
		}
	}
	// A final silent e is dropped so "hike" meets "hiking" (→ "hik").
	if strings.HasSuffix(w, "e") && len(w) > 3 && !strings.HasSuffix(w, "ee") {
		w = w[:len(w)-1]
	}
	return w
}

// undouble turns "stopp" into "stop" (but keeps "fall", "kiss", "buzz").
func undouble(w string) string {
	n := len(w)
	if n >= 2 && w[n-1] == w[n-2] && !strings.ContainsRune("lsz", rune(w[n-1])) && !strings.ContainsRune("aeiou", rune(w[n-1])) {
		return w[:n-1]
	}
	return w
}

func hasVowel(w string) bool { return strings.ContainsAny(w, "aeiouy") }

func isASCIILower(w string) bool {
	for i := 0; i < len(w); i++ {
		if c := w[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// stopped reports whether w is never indexed nor searched: an English
// stopword, or one of the modal and filler words the index adds to that
// list.
func stopped(w string) bool {
	switch w {
	case "also", "might", "must", "shall":
		return true
	}
	return stopword.English(w)
}
