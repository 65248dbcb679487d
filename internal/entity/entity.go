// Package entity extracts entity mentions from text with a documented,
// deterministic rule set — no model, no dictionary of names — so that the
// same text always yields the same entities (ECC's Analyze mode turns them
// into graph nodes and `mentions` edges; memory search seeds its graph
// propagation with the entities a query names).
//
// Three kinds are recognised:
//
//   - handles: "@" followed by 2–39 letters, digits, "_" or "-", not
//     preceded by a letter or digit (so e-mail addresses are not handles);
//     the key is the handle lower-cased, "@" included;
//   - dates: ISO dates (2023-05-07), "7 May 2023", "May 7, 2023" and
//     "May 2023" (month names in full or abbreviated to three letters); the
//     key is the ISO form, "2023-05-07" or "2023-05";
//   - names: runs of capitalised words (an upper-case first letter), which
//     may contain the connectors "of", "de", "van", "von", "da", "del",
//     "la" and "le" between capitalised words, and may not
//     cross sentence punctuation. Leading common words (Stopword: pronouns,
//     articles, auxiliaries, interjections…) are dropped ("The Bank of
//     England" → "Bank of England", "Can Ada" → "Ada"), except the few
//     that begin names ("New York", "Great Britain"), and so are trailing connectors; words of one letter
//     ("I", "A") never start a run; a month or weekday alone is a date word,
//     not a name. A single word opening a sentence (or a line) is kept only
//     if it is capitalised inside a sentence elsewhere in the text, or else
//     is not a common word (Stopword) and does not look like a verb or
//     adverb (-ed, -ing, -ly). The key is the
//     run lower-cased with single spaces.
//
// Each entity is reported once per text, in order of first appearance,
// with the text as first written.
package entity

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kinds of entities.
const (
	KindName   = "name"
	KindHandle = "handle"
	KindDate   = "date"
)

// Entity is one entity mentioned in a text.
type Entity struct {
	Kind string `json:"kind"`
	// Key identifies the entity: the same key is the same entity.
	Key string `json:"key"`
	// Text is the first mention as written.
	Text string `json:"text"`
}

// MaxPerText bounds what Extract returns for one text.
const MaxPerText = 32

// Extract returns the entities mentioned in text (at most MaxPerText),
// in order of first mention, each once.
func Extract(text string) []Entity {
	var out []Entity
	seen := map[string]bool{}
	add := func(e Entity) {
		k := e.Kind + "\x00" + e.Key
		if len(out) < MaxPerText && !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	toks := scan(text)
	inner := map[string]bool{} // capitalised words seen inside a sentence
	for _, t := range toks {
		if t.capital && !t.breakBefore {
			inner[t.text] = true
		}
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.handle {
			add(Entity{Kind: KindHandle, Key: strings.ToLower(t.text), Text: t.text})
			continue
		}
		if d, n := date(toks[i:]); n > 0 {
			add(Entity{Kind: KindDate, Key: d, Text: join(toks[i : i+n])})
			i += n - 1
			continue
		}
		if !t.capital || utf8.RuneCountInString(t.text) < 2 {
			continue
		}
		j := i + 1
		end := i + 1 // one past the last capitalised word
		for j < len(toks) && !toks[j].breakBefore && !toks[j].handle {
			switch {
			case toks[j].capital && !isMonthDate(toks[j:]):
				end = j + 1
			case connectors[strings.ToLower(toks[j].text)] && j+1 < len(toks) && !toks[j+1].breakBefore:
			default:
				j = len(toks) // stop
				continue
			}
			j++
		}
		words := toks[i:end]
		for len(words) > 0 && drop(words[0].text, len(words) > 1) {
			words = words[1:] // "The Bank of England" → "Bank of England"
		}
		if len(words) == 0 {
			continue
		}
		if len(words) == 1 && words[0].breakBefore && !inner[words[0].text] && !plausibleOpener(words[0].text) {
			i = end - 1
			continue
		}
		if len(words) == 1 && (month(t.text) > 0 || weekdays[strings.ToLower(t.text)]) {
			continue // a month or weekday alone is not a name
		}
		s := join(words)
		add(Entity{Kind: KindName, Key: strings.ToLower(s), Text: s})
		i = end - 1
	}
	return out
}

// plausibleOpener reports whether a capitalised word opening a sentence,
// seen nowhere else capitalised, may be a name: not a common word
// (Stopword: pronouns, articles, interjections, weekdays…) and not
// shaped like a verb or adverb (-ed, -ing, -ly).
func plausibleOpener(w string) bool {
	l := strings.ToLower(w)
	return !Stopword(l) && !strings.HasSuffix(l, "ed") && !strings.HasSuffix(l, "ing") && !strings.HasSuffix(l, "ly")
}

// token is a word of the text.
type token struct {
	text        string
	capital     bool // starts with an upper-case letter
	digits      bool // all digits
	handle      bool // an @handle (text without the @)
	breakBefore bool // sentence punctuation or a line break before it
	comma       bool // a comma right after it
}

func join(ts []token) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.text)
	}
	return b.String()
}

func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// scan splits text into words, noting capitals, handles and breaks.
func scan(text string) []token {
	var out []token
	brk := true
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == '@' && (i == 0 || !isWord(lastRune(text[:i]))):
			j := i + 1
			for j < len(text) && j-i-1 < 39 && (isASCIIWord(text[j]) || text[j] == '_' || text[j] == '-') {
				j++
			}
			if j-i-1 >= 2 {
				out = append(out, token{text: text[i:j], handle: true, breakBefore: brk})
				brk = false
				i = j
				continue
			}
			i += size
		case isWord(r):
			j := i
			for j < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[j:])
				if !isWord(r2) && !(r2 == '\'' || r2 == '’' || r2 == '-') {
					break
				}
				if !isWord(r2) { // an inner apostrophe or hyphen must be followed by a letter
					r3, _ := utf8.DecodeRuneInString(text[j+s2:])
					if !isWord(r3) {
						break
					}
				}
				j += s2
			}
			w := text[i:j]
			// "Melanie's" → "Melanie"
			for _, suf := range []string{"'s", "’s"} {
				w = strings.TrimSuffix(w, suf)
			}
			first, _ := utf8.DecodeRuneInString(w)
			out = append(out, token{text: w, capital: unicode.IsUpper(first), digits: allDigits(w), breakBefore: brk})
			brk = false
			i = j
		default:
			switch r {
			case '.', '!', '?', ';', ':', '\n', '(', ')', '[', ']', '"', '“', '”', '|', '#', '*', '>', '`', '\t':
				brk = true
			case ',':
				if n := len(out); n > 0 {
					out[n-1].comma = true
				}
				brk = true
			}
			i += size
		}
	}
	return out
}

func lastRune(s string) rune { r, _ := utf8.DecodeLastRuneInString(s); return r }

func isASCIIWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isMonthDate reports a month name starting a date at ts[0].
func isMonthDate(ts []token) bool {
	_, n := date(ts)
	return n > 0
}
