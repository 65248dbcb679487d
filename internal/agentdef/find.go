package agentdef

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Load reads and parses one definition file.
func Load(file string) (Definition, error) {
	f, err := os.Open(file)
	if err != nil {
		return Definition{}, fmt.Errorf("agentdef: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return Definition{}, fmt.Errorf("agentdef: read %s: %w", file, err)
	}
	return Parse(file, data)
}

// Find returns the definition called name from the first of dirs whose
// agents/ directory holds NAME.yaml (or NAME.yml). Pass the workspace first
// and the home second, so the workspace wins. Name "default" with no file
// anywhere yields Default().
func Find(name string, dirs ...string) (Definition, error) {
	if !ValidName(name) {
		return Definition{}, &Error{File: name, Msg: "not a valid agent name"}
	}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		for _, ext := range []string{".yaml", ".yml"} {
			file := filepath.Join(dir, "agents", name+ext)
			d, err := Load(file)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return d, err
		}
	}
	if name == DefaultName {
		return Default(), nil
	}
	return Definition{}, fmt.Errorf("%w: %q (looked in %s)", ErrNotFound, name, describeDirs(dirs))
}

func describeDirs(dirs []string) string {
	var parts []string
	for _, d := range dirs {
		if d != "" {
			parts = append(parts, filepath.Join(d, "agents"))
		}
	}
	if len(parts) == 0 {
		return "no directories"
	}
	return strings.Join(parts, ", ")
}

// List returns every valid definition under dirs' agents/ directories,
// sorted by name, the first directory winning when two define the same name.
// Files that fail to parse are returned as errors beside the list; a missing
// agents/ directory is not an error.
func List(dirs ...string) ([]Definition, []error) {
	seen := map[string]bool{}
	var out []Definition
	var errs []error
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(dir, "agents"))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("agentdef: %w", err))
			}
			continue
		}
		for _, e := range entries {
			stem := baseStem(e.Name())
			if e.IsDir() || stem == "" || seen[stem] {
				continue
			}
			// A broken file still shadows the same name further down, as
			// it does for Find.
			seen[stem] = true
			d, err := Load(filepath.Join(dir, "agents", e.Name()))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, errs
}
