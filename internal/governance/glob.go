package governance

import (
	"fmt"
	"strings"
)

// Glob syntax (documented in docs/GOVERNANCE.md): '*' matches any sequence of
// bytes, including the empty one and separators such as '.' and '/'; '?'
// matches exactly one byte; every other byte matches itself. There is no
// escaping and no character classes. In a list of globs, an element starting
// with '!' is a negation.

type globKind uint8

const (
	globExact globKind = iota
	globAny
	globPrefix
	globSuffix
	globContains
	globGeneral
)

// glob is a precompiled pattern. Matching never allocates.
type glob struct {
	pat  string
	kind globKind
	lit  string
}

// compileGlob precompiles pat. Empty patterns are rejected.
func compileGlob(pat string) (glob, error) {
	if pat == "" {
		return glob{}, fmt.Errorf("empty pattern")
	}
	if strings.ContainsAny(pat, "\x00\n\r") {
		return glob{}, fmt.Errorf("pattern %q contains a control character", pat)
	}
	g := glob{pat: pat}
	stars := strings.Count(pat, "*")
	hasQ := strings.IndexByte(pat, '?') >= 0
	switch {
	case hasQ:
		g.kind = globGeneral
	case stars == 0:
		g.kind, g.lit = globExact, pat
	case strings.Trim(pat, "*") == "":
		g.kind = globAny
	case stars == 1 && pat[len(pat)-1] == '*':
		g.kind, g.lit = globPrefix, pat[:len(pat)-1]
	case stars == 1 && pat[0] == '*':
		g.kind, g.lit = globSuffix, pat[1:]
	case stars == 2 && pat[0] == '*' && pat[len(pat)-1] == '*':
		g.kind, g.lit = globContains, pat[1:len(pat)-1]
	default:
		g.kind = globGeneral
	}
	return g, nil
}

func (g *glob) match(s string) bool {
	switch g.kind {
	case globExact:
		return s == g.lit
	case globAny:
		return true
	case globPrefix:
		return strings.HasPrefix(s, g.lit)
	case globSuffix:
		return strings.HasSuffix(s, g.lit)
	case globContains:
		return strings.Contains(s, g.lit)
	}
	return wildMatch(g.pat, s)
}

// wildMatch matches s against a pattern of '*', '?' and literal bytes in
// O(len(p)·len(s)) worst case without allocating (single-star backtracking).
func wildMatch(p, s string) bool {
	px, sx := 0, 0
	nextPx, nextSx := 0, 0
	backtrack := false
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			switch c := p[px]; c {
			case '*':
				nextPx, nextSx, backtrack = px, sx+1, true
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if backtrack && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}

// literalPrefix returns the bytes of pat before its first wildcard, and
// whether the pattern has no wildcard at all.
func literalPrefix(pat string) (string, bool) {
	i := strings.IndexAny(pat, "*?")
	if i < 0 {
		return pat, true
	}
	return pat[:i], false
}

// globList is an any-of list of globs with optional negations: it matches a
// value when no negated glob matches it and, if there are positive globs, at
// least one of them matches. A non-empty list never matches the empty value
// (an absent context field).
type globList struct {
	pos []glob
	neg []glob
}

func compileGlobList(pats []string) (globList, error) {
	var l globList
	for _, p := range pats {
		neg := strings.HasPrefix(p, "!")
		if neg {
			p = p[1:]
		}
		g, err := compileGlob(p)
		if err != nil {
			return globList{}, err
		}
		if neg {
			l.neg = append(l.neg, g)
		} else {
			l.pos = append(l.pos, g)
		}
	}
	return l, nil
}

func (l *globList) empty() bool { return len(l.pos) == 0 && len(l.neg) == 0 }

func (l *globList) match(s string) bool {
	if s == "" {
		return false
	}
	for i := range l.neg {
		if l.neg[i].match(s) {
			return false
		}
	}
	if len(l.pos) == 0 {
		return true
	}
	for i := range l.pos {
		if l.pos[i].match(s) {
			return true
		}
	}
	return false
}
