package tools

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
)

// ---- read_file -------------------------------------------------------------

type readFileIn struct {
	Path   string `json:"path"`
	Offset int    `json:"offset"`
	Limit  int    `json:"limit"`
}

// ReadFileResult is the output of read_file.
type ReadFileResult struct {
	Path       string `json:"path"`
	Content    string `json:"content"`
	StartLine  int    `json:"start_line"`
	Lines      int    `json:"lines"`
	Truncated  bool   `json:"truncated"`
	NextOffset int    `json:"next_offset,omitempty"`
}

func readFileTool() Tool {
	s := object([]string{"path"}, map[string]*Schema{
		"path":   str("File path, relative to the workspace root (absolute paths must lie inside the workspace)."),
		"offset": integer("First line to return, counting from 1. Default 1.", 1, 1<<31-1),
		"limit":  integer("Maximum number of lines to return. Default: all, up to the size cap.", 1, 1<<31-1),
	})
	s.Properties["path"].MinLength = ptr(1)
	return newBuiltin("read_file",
		"Read a text file in the workspace. Returns its content (optionally a range of lines) and, when the output was cut at the size cap, truncated=true and the next_offset to continue from.",
		s, fsAction[readFileIn]("read_file", "fs.read", func(in *readFileIn) string { return in.Path }), runReadFile)
}

func fsAction[In any](tool, action string, path func(*In) string) func(*Env, *In) (Action, error) {
	return func(env *Env, in *In) (Action, error) {
		if env == nil {
			return Action{}, toolErr(tool, CodeUnavailable, nil, "no tool environment")
		}
		rel, abs, err := env.resolve(tool, path(in))
		if err != nil {
			return Action{}, err
		}
		// A write to a control file is refused while the call is being
		// described: it never reaches governance as a plain fs.write.
		if err := env.guard(tool, path(in), rel, abs, action != "fs.read"); err != nil {
			return Action{}, err
		}
		return Action{Name: action, Tool: tool, Path: abs}, nil
	}
}

func runReadFile(ctx context.Context, env *Env, in *readFileIn) (any, error) {
	const tool = "read_file"
	rel, _, err := env.resolve(tool, in.Path)
	if err != nil {
		return nil, err
	}
	// Check before opening: opening a FIFO or device could block or have
	// side effects.
	st, err := env.root.Stat(rel)
	if err != nil {
		return nil, fsErr(tool, in.Path, err)
	}
	if st.IsDir() {
		return nil, toolErr(tool, CodeInvalidInput, nil, "%s is a directory; use list_dir", in.Path)
	}
	if !st.Mode().IsRegular() {
		return nil, toolErr(tool, CodeInvalidInput, nil, "%s is not a regular file", in.Path)
	}
	f, err := env.root.OpenFile(rel, openRead, 0)
	if err != nil {
		return nil, fsErr(tool, in.Path, err)
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, toolErr(tool, CodeInvalidInput, err, "%s is not a regular file", in.Path)
	}
	start := max(in.Offset, 1)
	limit := in.Limit
	maxBytes := int(env.policy.MaxReadBytes)
	r := bufio.NewReaderSize(f, int(min(max(st.Size()+1, 4<<10), 64<<10)))
	if head, _ := r.Peek(8 << 10); bytes.IndexByte(head, 0) >= 0 {
		return nil, toolErr(tool, CodeInvalidInput, nil, "%s looks like a binary file (it contains NUL bytes); read_file returns text only", in.Path)
	}
	var out bytes.Buffer
	res := &ReadFileResult{Path: filepath.ToSlash(rel), StartLine: start}
	line := 1      // number of the line being read
	lineStart := 0 // out.Len() when the current line began
	partial := false
	for {
		if err := ctx.Err(); err != nil {
			return nil, toolErr(tool, CodeTimeout, err, "reading %s was cancelled", in.Path)
		}
		if limit > 0 && line >= start+limit {
			if _, err := r.Peek(1); err == nil {
				res.NextOffset = line
			}
			break
		}
		chunk, rerr := r.ReadSlice('\n')
		if line >= start && len(chunk) > 0 {
			if out.Len()+len(chunk) > maxBytes {
				res.Truncated = true
				if lineStart > 0 {
					// Drop the partial line; the caller continues from it.
					out.Truncate(lineStart)
					res.NextOffset = line
				} else {
					// A single line larger than the cap: return its head.
					out.Write(chunk[:maxBytes-out.Len()])
					res.Lines = 1
					res.NextOffset = line + 1
				}
				break
			}
			out.Write(chunk)
		}
		if rerr == nil {
			if line >= start {
				res.Lines++
			}
			line++
			lineStart = out.Len()
			continue
		}
		if errors.Is(rerr, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(rerr, io.EOF) {
			partial = len(chunk) > 0 // a last line without a newline
			if partial && line >= start {
				res.Lines++
			}
			break
		}
		return nil, fsErr(tool, in.Path, rerr)
	}
	total := line - 1
	if partial {
		total++
	}
	if start > 1 && start > total && !res.Truncated {
		return nil, toolErr(tool, CodeInvalidInput, nil, "offset %d is past the end of %s (%d lines)", start, in.Path, total)
	}
	res.Content = strings.ToValidUTF8(out.String(), "\uFFFD")
	return res, nil
}

// ---- list_dir --------------------------------------------------------------

type listDirIn struct {
	Path      string `json:"path"`
	Recursive bool   `json:"recursive"`
	MaxDepth  int    `json:"max_depth"`
}

// DirEntry is one entry of a list_dir result.
type DirEntry struct {
	Path string `json:"path"` // slash-separated, relative to the workspace root
	Type string `json:"type"` // "file", "dir", "symlink" or "other"
	Size int64  `json:"size,omitempty"`
}

// ListDirResult is the output of list_dir.
type ListDirResult struct {
	Path      string     `json:"path"`
	Entries   []DirEntry `json:"entries"`
	Truncated bool       `json:"truncated"`
}

func listDirTool() Tool {
	s := object(nil, map[string]*Schema{
		"path":      str("Directory, relative to the workspace root. Default \".\"."),
		"recursive": boolean("List subdirectories too (symbolic links are listed, not followed)."),
		"max_depth": integer("Recursion depth when recursive (1 = only this directory). Capped by the policy.", 1, 32),
	})
	return newBuiltin("list_dir",
		"List a directory in the workspace: entries with their type (file, dir, symlink, other) and size, sorted by path. Large listings are cut at the entry cap and marked truncated.",
		s, fsAction[listDirIn]("list_dir", "fs.read", func(in *listDirIn) string { return dirOrDot(in.Path) }), runListDir)
}

func dirOrDot(p string) string {
	if p == "" {
		return "."
	}
	return p
}

func runListDir(ctx context.Context, env *Env, in *listDirIn) (any, error) {
	const tool = "list_dir"
	p := dirOrDot(in.Path)
	rel, _, err := env.resolve(tool, p)
	if err != nil {
		return nil, err
	}
	st, err := env.root.Stat(rel)
	if err != nil {
		return nil, fsErr(tool, p, err)
	}
	if !st.IsDir() {
		return nil, toolErr(tool, CodeInvalidInput, nil, "%s is not a directory; use read_file", p)
	}
	depth := 1
	if in.Recursive {
		depth = env.policy.MaxListDepth
		if in.MaxDepth > 0 {
			depth = min(in.MaxDepth, depth)
		}
	}
	res := &ListDirResult{Path: filepath.ToSlash(rel), Entries: []DirEntry{}}
	if err := env.walk(ctx, tool, rel, depth, res); err != nil {
		return nil, err
	}
	return res, nil
}

// walk lists dir depth-first in sorted order. Symbolic links are reported,
// never followed, so recursion cannot loop or leave the workspace.
func (e *Env) walk(ctx context.Context, tool, dir string, depth int, res *ListDirResult) error {
	if err := ctx.Err(); err != nil {
		return toolErr(tool, CodeTimeout, err, "listing was cancelled")
	}
	limit := e.policy.MaxListEntries
	f, err := e.root.Open(dir)
	if err != nil {
		return fsErr(tool, dir, err)
	}
	// Read at most 10× the cap so a huge directory cannot exhaust memory.
	ents, err := f.ReadDir(limit * 10)
	f.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return fsErr(tool, dir, err)
	}
	if len(ents) == limit*10 {
		res.Truncated = true
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	for _, de := range ents {
		if len(res.Entries) >= limit {
			res.Truncated = true
			return nil
		}
		p := filepath.Join(dir, de.Name())
		if _, hidden := e.forbidden(filepath.Join(e.workspace, p)); hidden {
			continue // the WeftOS home is not shown, even inside the workspace
		}
		ent := DirEntry{Path: filepath.ToSlash(p), Type: entryType(de.Type())}
		if ent.Type == "file" {
			if info, err := de.Info(); err == nil {
				ent.Size = info.Size()
			}
		}
		res.Entries = append(res.Entries, ent)
		if ent.Type == "dir" && depth > 1 {
			if err := e.walk(ctx, tool, p, depth-1, res); err != nil {
				return err
			}
		}
	}
	return nil
}

func entryType(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m.IsDir():
		return "dir"
	case m.IsRegular():
		return "file"
	}
	return "other"
}
