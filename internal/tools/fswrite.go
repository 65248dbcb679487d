package tools

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ---- write_file ------------------------------------------------------------

type writeFileIn struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

// WriteFileResult is the output of write_file.
type WriteFileResult struct {
	Path    string `json:"path"`
	Bytes   int    `json:"bytes"`
	Created bool   `json:"created"`
}

func writeFileTool() Tool {
	s := object([]string{"path", "content"}, map[string]*Schema{
		"path":    str("File path, relative to the workspace root. Missing parent directories are created."),
		"content": str("The complete new content of the file."),
	})
	s.Properties["path"].MinLength = ptr(1)
	return newBuiltin("write_file",
		"Create or replace a file in the workspace with the given content. The write is atomic: readers see the old or the new file, never a mix.",
		s, fsAction[writeFileIn]("write_file", "fs.write", func(in *writeFileIn) string { return in.Path }), runWriteFile)
}

func runWriteFile(ctx context.Context, env *Env, in *writeFileIn) (any, error) {
	const tool = "write_file"
	rel, abs, err := env.resolve(tool, in.Path)
	if err != nil {
		return nil, err
	}
	if err := env.guard(tool, in.Path, rel, abs, true); err != nil {
		return nil, err
	}
	if len(in.Content) > env.policy.MaxWriteBytes {
		return nil, toolErr(tool, CodeTooLarge, nil, "content is %d bytes; the limit is %d", len(in.Content), env.policy.MaxWriteBytes)
	}
	if dir := filepath.Dir(rel); dir != "." {
		if err := env.root.MkdirAll(dir, 0o755); err != nil {
			if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTDIR) {
				return nil, toolErr(tool, CodeInvalidInput, err, "a parent of %s exists and is not a directory", in.Path)
			}
			return nil, fsErr(tool, in.Path, err)
		}
	}
	perm, existed, err := env.writable(tool, in.Path, rel)
	if err != nil {
		return nil, err
	}
	if err := env.writeAtomic(ctx, tool, in.Path, rel, []byte(in.Content), perm); err != nil {
		return nil, err
	}
	return &WriteFileResult{Path: filepath.ToSlash(rel), Bytes: len(in.Content), Created: !existed}, nil
}

// writable checks that rel can be replaced: it is not the workspace root, a
// directory or a symbolic link. It returns the permissions to keep.
func (e *Env) writable(tool, p, rel string) (fs.FileMode, bool, error) {
	if rel == "." {
		return 0, false, toolErr(tool, CodeInvalidInput, nil, "%s is the workspace root, not a file", p)
	}
	st, err := e.root.Lstat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0o644, false, nil
	case err != nil:
		return 0, false, fsErr(tool, p, err)
	case st.Mode()&fs.ModeSymlink != 0:
		// Following is checked first so a link out of the workspace is
		// reported as the escape it is.
		if _, serr := e.root.Stat(rel); serr != nil && !errors.Is(serr, fs.ErrNotExist) {
			return 0, false, fsErr(tool, p, serr)
		}
		return 0, false, toolErr(tool, CodeDenied, nil, "%s is a symbolic link; write to the file it points to instead", p)
	case st.IsDir():
		return 0, false, toolErr(tool, CodeInvalidInput, nil, "%s is a directory", p)
	case !st.Mode().IsRegular():
		return 0, false, toolErr(tool, CodeInvalidInput, nil, "%s is not a regular file", p)
	}
	return st.Mode().Perm(), true, nil
}

// writeAtomic writes data to a temporary file next to rel and renames it
// into place, all through the workspace root.
func (e *Env) writeAtomic(ctx context.Context, tool, p, rel string, data []byte, perm fs.FileMode) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(rel), "."+filepath.Base(rel)+".weftos-"+hex.EncodeToString(rnd[:])+".tmp")
	f, err := e.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fsErr(tool, p, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = e.root.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fsErr(tool, p, err)
	}
	if err := f.Sync(); err != nil {
		return fsErr(tool, p, err)
	}
	if err := f.Close(); err != nil {
		return fsErr(tool, p, err)
	}
	if err := ctx.Err(); err != nil {
		_ = e.root.Remove(tmp)
		ok = true
		return toolErr(tool, CodeTimeout, err, "writing %s was cancelled; the file is unchanged", p)
	}
	if err := e.root.Rename(tmp, rel); err != nil {
		_ = e.root.Remove(tmp)
		ok = true
		return fsErr(tool, p, err)
	}
	ok = true
	return nil
}

// ---- edit_file -------------------------------------------------------------

type editFileIn struct {
	Path       string `json:"path"`
	OldString  string `json:"old_string"`
	NewString  string `json:"new_string"`
	ReplaceAll bool   `json:"replace_all"`
}

// EditFileResult is the output of edit_file.
type EditFileResult struct {
	Path         string `json:"path"`
	Replacements int    `json:"replacements"`
}

func editFileTool() Tool {
	s := object([]string{"path", "old_string", "new_string"}, map[string]*Schema{
		"path":        str("File path, relative to the workspace root."),
		"old_string":  str("Exact text to replace, including whitespace and indentation. Must occur exactly once unless replace_all is true."),
		"new_string":  str("Replacement text."),
		"replace_all": boolean("Replace every occurrence instead of requiring a unique one."),
	})
	s.Properties["path"].MinLength = ptr(1)
	s.Properties["old_string"].MinLength = ptr(1)
	return newBuiltin("edit_file",
		"Replace an exact string in a workspace file. Fails, changing nothing, if old_string is not found or (without replace_all) occurs more than once.",
		s, fsAction[editFileIn]("edit_file", "fs.write", func(in *editFileIn) string { return in.Path }), runEditFile)
}

func runEditFile(ctx context.Context, env *Env, in *editFileIn) (any, error) {
	const tool = "edit_file"
	rel, abs, err := env.resolve(tool, in.Path)
	if err != nil {
		return nil, err
	}
	if err := env.guard(tool, in.Path, rel, abs, true); err != nil {
		return nil, err
	}
	if in.OldString == in.NewString {
		return nil, toolErr(tool, CodeInvalidInput, nil, "old_string and new_string are identical; nothing to change")
	}
	perm, existed, err := env.writable(tool, in.Path, rel)
	if err != nil {
		return nil, err
	}
	if !existed {
		return nil, toolErr(tool, CodeNotFound, nil, "%s does not exist; use write_file to create it", in.Path)
	}
	f, err := env.root.OpenFile(rel, openRead, 0)
	if err != nil {
		return nil, fsErr(tool, in.Path, err)
	}
	limit := int64(env.policy.MaxWriteBytes)
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	f.Close()
	if err != nil {
		return nil, fsErr(tool, in.Path, err)
	}
	if int64(len(data)) > limit {
		return nil, toolErr(tool, CodeTooLarge, nil, "%s is larger than the edit limit of %d bytes", in.Path, limit)
	}
	text := string(data)
	n := strings.Count(text, in.OldString)
	switch {
	case n == 0:
		return nil, toolErr(tool, CodeNotFound, nil, "old_string was not found in %s; read the file and copy the exact text, including whitespace and indentation", in.Path)
	case n > 1 && !in.ReplaceAll:
		return nil, toolErr(tool, CodeNotUnique, nil, "old_string occurs %d times in %s; include more surrounding lines to make it unique, or set replace_all to true", n, in.Path)
	}
	if in.ReplaceAll {
		text = strings.ReplaceAll(text, in.OldString, in.NewString)
	} else {
		text = strings.Replace(text, in.OldString, in.NewString, 1)
	}
	if len(text) > env.policy.MaxWriteBytes {
		return nil, toolErr(tool, CodeTooLarge, nil, "the edited file would be %d bytes; the limit is %d", len(text), env.policy.MaxWriteBytes)
	}
	if err := env.writeAtomic(ctx, tool, in.Path, rel, []byte(text), perm); err != nil {
		return nil, err
	}
	return &EditFileResult{Path: filepath.ToSlash(rel), Replacements: n}, nil
}
