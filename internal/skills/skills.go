// Package skills reads SKILL.md files: a YAML front matter between two
// "---" lines (name, description, allowed-tools) followed by a markdown body
// of instructions. Skills are discovered under a workspace and a home, the
// workspace winning on a name clash, and rendered into an agent's system
// prompt with Prompt.
//
// The package imports no other WeftOS layer.
package skills

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// FileName is the name of a skill's file inside its directory.
const FileName = "SKILL.md"

// Limits on a skill file.
const (
	MaxFileSize    = 256 << 10
	MaxDescription = 1024
)

var (
	// ErrInvalid matches every parse and validation error.
	ErrInvalid = errors.New("skills: invalid skill")
	// ErrNotFound is returned by Load when no directory holds the skill.
	ErrNotFound = errors.New("skills: skill not found")
)

// Error is a problem at a position in a skill file.
type Error struct {
	File string
	Line int // 0 when unknown
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Skill is one parsed SKILL.md.
type Skill struct {
	Name         string
	Description  string
	AllowedTools []string // as written: "read_file", "Bash(git:*)", ...
	Body         string   // the markdown after the front matter
	Path         string   // the file it came from
	// Unknown lists front-matter keys this package does not interpret
	// (sorted), so a CLI can warn about them. They are not errors: skills
	// are shared between tools that add their own keys.
	Unknown []string
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ValidName reports whether s is a valid skill name: 1 to 64 characters
// from [A-Za-z0-9_.-], starting with a letter or digit, without "..".
func ValidName(s string) bool { return nameRE.MatchString(s) && !strings.Contains(s, "..") }

// known front-matter keys; license, metadata and version are accepted and
// ignored, as other skill runtimes define them.
var known = map[string]bool{"name": true, "description": true, "allowed-tools": true, "license": true, "metadata": true, "version": true}

// Parse decodes a SKILL.md. dirName, when not "", is the name of the
// directory holding the file: a missing name defaults to it, and a different
// name is an error.
func Parse(file, dirName string, data []byte) (Skill, error) {
	fail := func(line int, format string, args ...any) (Skill, error) {
		return Skill{}, &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > MaxFileSize {
		return fail(0, "file is %d bytes, more than %d", len(data), MaxFileSize)
	}
	if !utf8.Valid(data) {
		return fail(0, "file is not valid UTF-8")
	}
	front, body, err := split(data)
	if err != nil {
		return fail(1, "%v", err)
	}
	s := Skill{Path: file, Body: body}
	var doc yaml.Node
	if err := yaml.Unmarshal(front, &doc); err != nil {
		line, msg := yamlPos(err)
		if line > 0 {
			line++ // the opening "---"
		}
		return fail(line, "front matter: %s", msg)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return fail(2, "front matter must be a mapping of keys to values")
	}
	m := doc.Content[0]
	seen := map[string]bool{}
	keyLine := map[string]int{"name": 2, "description": 2}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		line := k.Line + 1
		if k.Kind != yaml.ScalarNode {
			return fail(line, "front matter keys must be plain strings")
		}
		if seen[k.Value] {
			return fail(line, "front matter: duplicate key %q", k.Value)
		}
		seen[k.Value] = true
		keyLine[k.Value] = line
		if !known[k.Value] {
			s.Unknown = append(s.Unknown, k.Value)
			continue
		}
		if v.Kind == yaml.AliasNode {
			return fail(v.Line+1, "%s: YAML aliases are not supported", k.Value)
		}
		switch k.Value {
		case "name", "description":
			if v.Kind != yaml.ScalarNode {
				return fail(v.Line+1, "%s: must be a string", k.Value)
			}
			if v.Tag != "!!null" {
				if k.Value == "name" {
					s.Name = v.Value
				} else {
					s.Description = strings.TrimSpace(v.Value)
				}
			}
		case "allowed-tools":
			tools, err := toolList(v)
			if err != nil {
				return fail(v.Line+1, "allowed-tools: %v", err)
			}
			s.AllowedTools = tools
		}
	}
	sort.Strings(s.Unknown)
	switch {
	case s.Name == "" && ValidName(dirName):
		s.Name = dirName
	case s.Name == "":
		return fail(keyLine["name"], "name: missing")
	case !ValidName(s.Name):
		return fail(keyLine["name"], "name: %q is not a valid skill name (1-64 of A-Z a-z 0-9 _ . -, starting with a letter or digit)", s.Name)
	case dirName != "" && s.Name != dirName:
		return fail(keyLine["name"], "name: %q does not match its directory %q", s.Name, dirName)
	}
	if s.Description == "" {
		return fail(keyLine["description"], "description: missing (the model chooses skills by their description)")
	}
	if len(s.Description) > MaxDescription {
		return fail(keyLine["description"], "description: longer than %d bytes", MaxDescription)
	}
	return s, nil
}

// split separates the front matter from the body. The file must start with
// a "---" line (after an optional UTF-8 byte-order mark) and the front
// matter ends at the next line that is exactly "---".
func split(data []byte) (front []byte, body string, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	first, rest, ok := cutLine(data)
	if !ok && len(first) == 0 || strings.TrimRight(string(first), " \t") != "---" {
		return nil, "", errors.New(`must start with a "---" line opening the YAML front matter`)
	}
	start := rest
	for len(rest) > 0 {
		l, next, _ := cutLine(rest)
		if strings.TrimRight(string(l), " \t") == "---" {
			front = start[:len(start)-len(rest)]
			return front, strings.TrimLeft(string(next), "\r\n"), nil
		}
		rest = next
	}
	return nil, "", errors.New(`front matter has no closing "---" line`)
}

// cutLine returns the first line of b without its line ending.
func cutLine(b []byte) (line, rest []byte, found bool) {
	line, rest, found = bytes.Cut(b, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), rest, found
}

// toolList accepts a list of strings or one string of comma-separated names.
func toolList(v *yaml.Node) ([]string, error) {
	var raw []string
	switch {
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		return nil, nil
	case v.Kind == yaml.ScalarNode:
		raw = strings.Split(v.Value, ",")
	case v.Kind == yaml.SequenceNode:
		for _, e := range v.Content {
			if e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
				return nil, errors.New("list entries must be strings")
			}
			raw = append(raw, e.Value)
		}
	default:
		return nil, errors.New("want a list of tool names or a comma-separated string")
	}
	var out []string
	for _, t := range raw {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if strings.ContainsAny(t, "\r\n") {
			return nil, fmt.Errorf("tool %q spans lines", t)
		}
		out = append(out, t)
	}
	return out, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlPos(err error) (int, string) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n, m[2]
	}
	return 0, strings.TrimPrefix(msg, "yaml: ")
}
