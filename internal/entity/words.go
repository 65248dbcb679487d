package entity

import (
	"fmt"
	"strconv"
	"strings"
)

var months = map[string]int{
	"january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
	"september": 9, "october": 10, "november": 11, "december": 12,
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}

// month returns the month a capitalised month name means (0: none).
func month(w string) int {
	if w == "" || w[0] < 'A' || w[0] > 'Z' {
		return 0
	}
	return months[strings.ToLower(w)]
}

func number(t token, lo, hi int) (int, bool) {
	if !t.digits || len(t.text) > 4 {
		return 0, false
	}
	n, err := strconv.Atoi(t.text)
	return n, err == nil && n >= lo && n <= hi
}

// iso parses 2023-05-07.
func iso(s string) (string, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return "", false
	}
	y, e1 := strconv.Atoi(s[:4])
	m, e2 := strconv.Atoi(s[5:7])
	d, e3 := strconv.Atoi(s[8:])
	if e1 != nil || e2 != nil || e3 != nil || y < 1000 || m < 1 || m > 12 || d < 1 || d > 31 {
		return "", false
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d), true
}

// date recognises a date at ts[0]: its ISO key and how many tokens it
// spans (0: none).
func date(ts []token) (string, int) {
	if len(ts) == 0 {
		return "", 0
	}
	if k, ok := iso(ts[0].text); ok {
		return k, 1
	}
	// 7 May 2023
	if d, ok := number(ts[0], 1, 31); ok && len(ts) >= 3 && !ts[1].breakBefore && !ts[2].breakBefore {
		if m := month(ts[1].text); m > 0 {
			if y, ok := number(ts[2], 1000, 9999); ok {
				return fmt.Sprintf("%04d-%02d-%02d", y, m, d), 3
			}
		}
	}
	m := month(ts[0].text)
	if m == 0 || len(ts) < 2 || ts[1].breakBefore {
		return "", 0
	}
	// May 7, 2023 / May 7 2023
	if d, ok := number(ts[1], 1, 31); ok && len(ts) >= 3 && (!ts[2].breakBefore || ts[1].comma) {
		if y, ok := number(ts[2], 1000, 9999); ok {
			return fmt.Sprintf("%04d-%02d-%02d", y, m, d), 3
		}
	}
	// May 2023
	if y, ok := number(ts[1], 1000, 9999); ok {
		return fmt.Sprintf("%04d-%02d", y, m), 2
	}
	return "", 0
}

var weekdays = map[string]bool{"monday": true, "tuesday": true, "wednesday": true, "thursday": true, "friday": true, "saturday": true, "sunday": true}

// connectors may join capitalised words inside a name.
var connectors = map[string]bool{"of": true, "de": true, "van": true, "von": true, "da": true, "del": true, "la": true, "le": true}

// nameStarters are common words that also begin names.
var nameStarters = map[string]bool{"new": true, "old": true, "big": true, "great": true, "good": true, "first": true, "one": true}

// drop reports a word dropped from the start of a run (more: other
// words follow it).
func drop(w string, more bool) bool {
	l := strings.ToLower(w)
	return stop[l] && !(more && nameStarters[l])
}

// Stopword reports a common word that, capitalised at the start of a
// sentence, is not taken for a name on its own.
func Stopword(w string) bool { return stop[strings.ToLower(w)] }

var stop = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
a an the this that these those there here then than so and but or nor for yet if when while where why how what which who whom whose
i i'm i've i'd i'll me my mine myself we us our ours you your yours he him his she her hers it its they them their theirs
is are was were be been being am do does did done have has had having can could will would shall should may might must
not no yes yeah yep nope ok okay oh ah hey hi hello hmm wow well thanks thank sure great nice good cool awesome lol haha
please sorry congrats congratulations bye goodbye welcome absolutely definitely totally really actually also just still even
after before during since until about above below again all any both each few more most other some such only own same too very
as at by from in into of off on onto out over to up with without within through across between under
let lets let's maybe perhaps anyway besides however therefore thus hence meanwhile otherwise indeed instead
today tomorrow yesterday tonight now later soon always never sometimes often usually
monday tuesday wednesday thursday friday saturday sunday
one two three four five six seven eight nine ten first second third last next
note see use using used make made get got go going went come came take took give gave know knew think thought
new old big small many much every everything everyone something someone anything anyone nothing nobody
it's that's there's here's what's who's don't doesn't didn't can't won't isn't aren't wasn't weren't
`) {
		m[w] = true
	}
	return m
}()
