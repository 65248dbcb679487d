package minihttp

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// ServeMux routes requests by "[METHOD ]/literal/{name}/…" patterns, as
// net/http's ServeMux does for that subset: a literal segment wins over a
// wildcard at the first segment where two matching patterns differ, a
// pattern with a method wins over one without, GET also serves HEAD, a
// path that matches only with other methods is answered 405 with Allow,
// anything else 404. Host patterns, "{name...}", "{$}" and trailing-slash
// subtrees are not supported (Handle panics on them, as on a bad pattern).
type ServeMux struct {
	mu     sync.RWMutex
	routes []*route
}

type route struct {
	pattern string
	method  string
	segs    []segment
	h       Handler
}

type segment struct {
	lit  string
	wild string // name; lit unused
}

// NewServeMux returns an empty mux.
func NewServeMux() *ServeMux { return &ServeMux{} }

// HandleFunc registers f for pattern.
func (m *ServeMux) HandleFunc(pattern string, f func(ResponseWriter, *Request)) {
	m.Handle(pattern, HandlerFunc(f))
}

// Handle registers h for pattern. A malformed or duplicate pattern is a
// programming error and panics, as in net/http.
func (m *ServeMux) Handle(pattern string, h Handler) {
	r, err := parsePattern(pattern)
	if err != nil {
		panic("minihttp: " + err.Error())
	}
	if h == nil {
		panic("minihttp: nil handler for " + pattern)
	}
	r.h = h
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.routes {
		if o.method == r.method && sameShape(o.segs, r.segs) {
			panic(fmt.Sprintf("minihttp: pattern %q conflicts with %q", pattern, o.pattern))
		}
	}
	m.routes = append(m.routes, r)
}

func sameShape(a, b []segment) bool {
	return slices.EqualFunc(a, b, func(x, y segment) bool {
		return (x.wild != "") == (y.wild != "") && x.lit == y.lit
	})
}

func parsePattern(p string) (*route, error) {
	r := &route{pattern: p}
	path := p
	if m, rest, ok := strings.Cut(p, " "); ok {
		if !validMethod(m) {
			return nil, fmt.Errorf("pattern %q: bad method", p)
		}
		r.method, path = m, strings.TrimLeft(rest, " \t")
	}
	if path == "" || path[0] != '/' {
		return nil, fmt.Errorf("pattern %q: path must start with /", p)
	}
	if path == "/" {
		return nil, fmt.Errorf("pattern %q: subtree patterns are not supported", p)
	}
	if strings.HasSuffix(path, "/") {
		return nil, fmt.Errorf("pattern %q: subtree patterns are not supported", p)
	}
	seen := map[string]bool{}
	for _, s := range strings.Split(path[1:], "/") {
		switch {
		case s == "":
			return nil, fmt.Errorf("pattern %q: empty segment", p)
		case s[0] == '{':
			name, ok := strings.CutSuffix(s[1:], "}")
			if !ok || name == "" || strings.ContainsAny(name, "{}.$") || seen[name] {
				return nil, fmt.Errorf("pattern %q: bad or unsupported wildcard %q", p, s)
			}
			seen[name] = true
			r.segs = append(r.segs, segment{wild: name})
		case strings.ContainsAny(s, "{}"):
			return nil, fmt.Errorf("pattern %q: a wildcard must be a whole segment", p)
		default:
			lit, err := url.PathUnescape(s)
			if err != nil {
				return nil, fmt.Errorf("pattern %q: %w", p, err)
			}
			r.segs = append(r.segs, segment{lit: lit})
		}
	}
	return r, nil
}

// match reports whether r's path matches segs (unescaped path segments)
// and the wildcard values.
func (r *route) match(segs []string) (map[string]string, bool) {
	if len(segs) != len(r.segs) {
		return nil, false
	}
	var vals map[string]string
	for i, s := range r.segs {
		if s.wild == "" {
			if segs[i] != s.lit {
				return nil, false
			}
			continue
		}
		if segs[i] == "" {
			return nil, false
		}
		if vals == nil {
			vals = map[string]string{}
		}
		vals[s.wild] = segs[i]
	}
	return vals, true
}

// moreSpecific reports whether a beats b (both match the same path).
func moreSpecific(a, b *route) bool {
	for i := range a.segs {
		aw, bw := a.segs[i].wild != "", b.segs[i].wild != ""
		if aw != bw {
			return bw
		}
	}
	return a.method != "" && b.method == ""
}

func methodMatches(pattern, method string) bool {
	return pattern == "" || pattern == method || (pattern == MethodGet && method == MethodHead)
}

// ServeHTTP dispatches r.
func (m *ServeMux) ServeHTTP(w ResponseWriter, r *Request) {
	segs, ok := splitPath(r.URL.EscapedPath())
	if !ok {
		Error(w, "404 page not found", StatusNotFound)
		return
	}
	m.mu.RLock()
	var best *route
	var bestVals map[string]string
	var allow []string
	for _, rt := range m.routes {
		vals, ok := rt.match(segs)
		if !ok {
			continue
		}
		if !methodMatches(rt.method, r.Method) {
			allow = append(allow, rt.method)
			if rt.method == MethodGet {
				allow = append(allow, MethodHead)
			}
			continue
		}
		if best == nil || moreSpecific(rt, best) {
			best, bestVals = rt, vals
		}
	}
	m.mu.RUnlock()
	if best == nil {
		if len(allow) > 0 {
			slices.Sort(allow)
			w.Header().Set("Allow", strings.Join(slices.Compact(allow), ", "))
			Error(w, "Method Not Allowed", StatusMethodNotAllowed)
			return
		}
		Error(w, "404 page not found", StatusNotFound)
		return
	}
	r.Pattern = best.pattern
	for k, v := range bestVals {
		r.SetPathValue(k, v)
	}
	best.h.ServeHTTP(w, r)
}

// splitPath splits an escaped absolute path into unescaped segments; a path
// that is not clean ("//", "." or ".." segments) matches nothing (net/http
// would redirect to the clean path, which the API's client never needs).
func splitPath(p string) ([]string, bool) {
	if p == "" || p[0] != '/' {
		return nil, false
	}
	parts := strings.Split(p[1:], "/")
	for i, s := range parts {
		if s == "." || s == ".." || (s == "" && i < len(parts)-1) {
			return nil, false
		}
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
}
