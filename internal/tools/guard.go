package tools

import (
	"errors"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
)

// DefaultProtected are the control files of a workspace: agent
// definitions, skills, WeftOS's own directory, configuration and tool
// package manifests. Agents may read them; only the operator may change
// them.
var DefaultProtected = []string{"agents/**", "skills/**", ".weftos/**", "weftos.toml", "constitution.toml", "**/tool.toml"}

// realPath resolves symbolic links in abs as far as the path exists, and
// joins the rest: where a write to abs would land.
func realPath(abs string) string {
	rest := ""
	p := abs
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return abs
		}
		parent := filepath.Dir(p)
		if parent == p {
			return abs
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// forbidden reports the forbidden directory abs (or where it really
// leads) lies in, if any.
func (e *Env) forbidden(abs string) (string, bool) {
	real := realPath(abs)
	for _, f := range e.policy.Forbidden {
		for _, p := range []string{abs, real} {
			if _, ok := within(f, p); ok {
				return f, true
			}
		}
	}
	return "", false
}

// protected reports whether rel (workspace-relative), or where abs really
// leads, is a control file agents may not change.
func (e *Env) protected(rel, abs string) (string, bool) {
	cands := []string{rel}
	if r, ok := within(e.workspace, realPath(abs)); ok {
		cands = append(cands, r)
	}
	for _, c := range cands {
		c = strings.ToLower(filepath.ToSlash(filepath.Clean(c)))
		for _, pat := range e.policy.Protected {
			if matchProtected(strings.ToLower(pat), c) {
				return pat, true
			}
		}
	}
	return "", false
}

// matchProtected matches a slash-separated, cleaned relative path against
// a pattern: "dir/**" covers dir and everything beneath it, "**/name" a
// file called name anywhere, anything else a path.Match glob.
func matchProtected(pat, rel string) bool {
	switch {
	case strings.HasSuffix(pat, "/**"):
		dir := strings.TrimSuffix(pat, "/**")
		return rel == dir || strings.HasPrefix(rel, dir+"/")
	case strings.HasPrefix(pat, "**/"):
		name := strings.TrimPrefix(pat, "**/")
		ok, _ := path.Match(name, path.Base(rel))
		return ok
	}
	ok, _ := path.Match(pat, rel)
	return ok
}

// guard refuses paths inside a forbidden directory (any tool) and control
// files (writes).
func (e *Env) guard(tool, p, rel, abs string, write bool) error {
	if f, ok := e.forbidden(abs); ok {
		return toolErr(tool, CodeForbidden, nil, "%s is inside %s, which no agent tool may read or change", p, f)
	}
	if write {
		if pat, ok := e.protected(rel, abs); ok {
			return toolErr(tool, CodeProtected, nil, "%s is a control file (%s): agents may read it, but only the operator may change it", p, pat)
		}
	}
	return nil
}
