package skills

import (
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Dirs returns the directories searched for skills under each root, in
// precedence order: ROOT/skills then ROOT/.weftos/skills for each root.
func Dirs(roots ...string) []string {
	var out []string
	for _, r := range roots {
		if r != "" {
			out = append(out, filepath.Join(r, "skills"), filepath.Join(r, ".weftos", "skills"))
		}
	}
	return out
}

// ParseFile reads and parses dir/SKILL.md; the directory's base name is the
// skill's default name.
func ParseFile(file string) (Skill, error) {
	f, err := os.Open(file)
	if err != nil {
		return Skill{}, fmt.Errorf("skills: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return Skill{}, fmt.Errorf("skills: read %s: %w", file, err)
	}
	return Parse(file, filepath.Base(filepath.Dir(file)), data)
}

// List returns the skills found under roots (workspace first, then home;
// see Dirs), sorted by name. When two directories hold a skill of the same
// name the earlier one wins, even if it fails to parse. Files that fail to
// parse are returned as errors beside the list; missing directories are not
// errors.
func List(roots ...string) ([]Skill, []error) {
	seen := map[string]bool{}
	var out []Skill
	var errs []error
	for _, dir := range Dirs(roots...) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("skills: %w", err))
			}
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if !isDir(dir, e) || !ValidName(name) || seen[name] {
				continue
			}
			s, err := ParseFile(filepath.Join(dir, name, FileName))
			if errors.Is(err, fs.ErrNotExist) {
				continue // a directory without SKILL.md is not a skill
			}
			seen[name] = true
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, errs
}

// isDir follows a symlinked skill directory.
func isDir(parent string, e fs.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	fi, err := os.Stat(filepath.Join(parent, e.Name()))
	return err == nil && fi.IsDir()
}

// Load returns the skill called name from the first directory of Dirs(roots)
// that holds NAME/SKILL.md.
func Load(name string, roots ...string) (Skill, error) {
	if !ValidName(name) {
		return Skill{}, &Error{File: name, Msg: "not a valid skill name"}
	}
	for _, dir := range Dirs(roots...) {
		s, err := ParseFile(filepath.Join(dir, name, FileName))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		return s, err
	}
	return Skill{}, fmt.Errorf("%w: %q (looked in %s)", ErrNotFound, name, strings.Join(Dirs(roots...), ", "))
}

// LoadAll loads the named skills in order, failing on the first that is
// missing or invalid.
func LoadAll(names []string, roots ...string) ([]Skill, error) {
	out := make([]Skill, 0, len(names))
	for _, n := range names {
		s, err := Load(n, roots...)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Prompt renders skills for a system prompt: a short preamble, then each
// skill in a <skill> element carrying its name, description and allowed
// tools, with its body as the element's text. It returns "" for no skills.
// A body cannot close its element early: "</skill" inside it is escaped.
func Prompt(skills []Skill) string {
	if len(skills) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("# Skills\n\nThe following skills are available. When a task matches a skill's description, follow its instructions.\n")
	for _, s := range skills {
		fmt.Fprintf(&b, "\n<skill name=\"%s\" description=\"%s\"", html.EscapeString(s.Name), html.EscapeString(s.Description))
		if len(s.AllowedTools) > 0 {
			fmt.Fprintf(&b, " allowed-tools=\"%s\"", html.EscapeString(strings.Join(s.AllowedTools, ", ")))
		}
		b.WriteString(">\n")
		body := strings.TrimSpace(s.Body)
		body = strings.ReplaceAll(body, "</skill", "<\\/skill")
		if body != "" {
			b.WriteString(body)
			b.WriteString("\n")
		}
		b.WriteString("</skill>\n")
	}
	return b.String()
}
