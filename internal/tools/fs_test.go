package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func writeWS(t *testing.T, ws string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(ws, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadFile(t *testing.T) {
	env, ws, _ := newEnv(t, Policy{MaxReadBytes: 64}, nil)
	writeWS(t, ws, map[string]string{
		"a.txt":      "one\ntwo\nthree\n",
		"nonl.txt":   "x\ny",
		"empty.txt":  "",
		"big.txt":    strings.Repeat("0123456789\n", 10), // 110 bytes
		"long.txt":   strings.Repeat("z", 100),
		"bin.dat":    "ab\x00cd",
		"dir/in.txt": "inner\n",
		"bad.txt":    "ok\xff\n",
	})
	tests := []struct {
		name string
		in   map[string]any
		code string
		want ReadFileResult
	}{
		{"whole", map[string]any{"path": "a.txt"}, "", ReadFileResult{Path: "a.txt", Content: "one\ntwo\nthree\n", StartLine: 1, Lines: 3}},
		{"absolute inside", map[string]any{"path": filepath.Join(ws, "a.txt")}, "", ReadFileResult{Path: "a.txt", Content: "one\ntwo\nthree\n", StartLine: 1, Lines: 3}},
		{"offset", map[string]any{"path": "a.txt", "offset": 2}, "", ReadFileResult{Path: "a.txt", Content: "two\nthree\n", StartLine: 2, Lines: 2}},
		{"offset limit", map[string]any{"path": "a.txt", "offset": 2, "limit": 1}, "", ReadFileResult{Path: "a.txt", Content: "two\n", StartLine: 2, Lines: 1, NextOffset: 3}},
		{"limit to end", map[string]any{"path": "a.txt", "offset": 3, "limit": 1}, "", ReadFileResult{Path: "a.txt", Content: "three\n", StartLine: 3, Lines: 1}},
		{"no final newline", map[string]any{"path": "nonl.txt"}, "", ReadFileResult{Path: "nonl.txt", Content: "x\ny", StartLine: 1, Lines: 2}},
		{"empty", map[string]any{"path": "empty.txt"}, "", ReadFileResult{Path: "empty.txt", StartLine: 1}},
		{"nested", map[string]any{"path": "dir/../dir/in.txt"}, "", ReadFileResult{Path: "dir/in.txt", Content: "inner\n", StartLine: 1, Lines: 1}},
		{"cap cuts at line", map[string]any{"path": "big.txt"}, "", ReadFileResult{Path: "big.txt", Content: strings.Repeat("0123456789\n", 5), StartLine: 1, Lines: 5, Truncated: true, NextOffset: 6}},
		{"cap continue", map[string]any{"path": "big.txt", "offset": 6}, "", ReadFileResult{Path: "big.txt", Content: strings.Repeat("0123456789\n", 5), StartLine: 6, Lines: 5}},
		{"single huge line", map[string]any{"path": "long.txt"}, "", ReadFileResult{Path: "long.txt", Content: strings.Repeat("z", 64), StartLine: 1, Lines: 1, Truncated: true, NextOffset: 2}},
		{"invalid utf8 replaced", map[string]any{"path": "bad.txt"}, "", ReadFileResult{Path: "bad.txt", Content: "ok\uFFFD\n", StartLine: 1, Lines: 1}},
		{"offset past end", map[string]any{"path": "a.txt", "offset": 10}, CodeInvalidInput, ReadFileResult{}},
		{"offset just past end", map[string]any{"path": "a.txt", "offset": 4}, CodeInvalidInput, ReadFileResult{}},
		{"offset last partial line", map[string]any{"path": "nonl.txt", "offset": 2}, "", ReadFileResult{Path: "nonl.txt", Content: "y", StartLine: 2, Lines: 1}},
		{"offset past partial line", map[string]any{"path": "nonl.txt", "offset": 3}, CodeInvalidInput, ReadFileResult{}},
		{"binary", map[string]any{"path": "bin.dat"}, CodeInvalidInput, ReadFileResult{}},
		{"directory", map[string]any{"path": "dir"}, CodeInvalidInput, ReadFileResult{}},
		{"missing", map[string]any{"path": "nope.txt"}, CodeNotFound, ReadFileResult{}},
		{"missing required", map[string]any{}, CodeInvalidInput, ReadFileResult{}},
		{"unknown property", map[string]any{"path": "a.txt", "PATH": "x"}, CodeInvalidInput, ReadFileResult{}},
		{"zero offset", map[string]any{"path": "a.txt", "offset": 0}, CodeInvalidInput, ReadFileResult{}},
		{"empty path", map[string]any{"path": ""}, CodeInvalidInput, ReadFileResult{}},
		{"dotdot", map[string]any{"path": "../outside/secret.txt"}, CodePathEscape, ReadFileResult{}},
		{"abs outside", map[string]any{"path": "/etc/passwd"}, CodePathEscape, ReadFileResult{}},
	}
	rf := tool(t, "read_file")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := rf.Run(context.Background(), env, mustJSON(t, tc.in))
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			got := decodeInto[ReadFileResult](t, out)
			if got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	env, ws, _ := newEnv(t, Policy{MaxWriteBytes: 32}, nil)
	writeWS(t, ws, map[string]string{"exists.txt": "old", "d/x": "x"})
	if err := os.Chmod(filepath.Join(ws, "exists.txt"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      map[string]any
		code    string
		created bool
		file    string
	}{
		{"create", map[string]any{"path": "new.txt", "content": "hello"}, "", true, "new.txt"},
		{"create parents", map[string]any{"path": "a/b/c.txt", "content": "deep"}, "", true, "a/b/c.txt"},
		{"replace", map[string]any{"path": "exists.txt", "content": "new"}, "", false, "exists.txt"},
		{"empty content", map[string]any{"path": "e.txt", "content": ""}, "", true, "e.txt"},
		{"too large", map[string]any{"path": "big.txt", "content": strings.Repeat("x", 33)}, CodeTooLarge, false, ""},
		{"directory", map[string]any{"path": "d", "content": "x"}, CodeInvalidInput, false, ""},
		{"root", map[string]any{"path": ".", "content": "x"}, CodeInvalidInput, false, ""},
		{"parent is file", map[string]any{"path": "d/x/y", "content": "x"}, CodeInvalidInput, false, ""},
		{"missing content", map[string]any{"path": "m.txt"}, CodeInvalidInput, false, ""},
		{"content not string", map[string]any{"path": "m.txt", "content": 5}, CodeInvalidInput, false, ""},
		{"dotdot", map[string]any{"path": "../outside/new.txt", "content": "x"}, CodePathEscape, false, ""},
		{"abs outside", map[string]any{"path": "/tmp/weftos-never.txt", "content": "x"}, CodePathEscape, false, ""},
	}
	wf := tool(t, "write_file")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := wf.Run(context.Background(), env, mustJSON(t, tc.in))
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			got := decodeInto[WriteFileResult](t, out)
			content := tc.in["content"].(string)
			if got.Created != tc.created || got.Bytes != len(content) || got.Path != tc.file {
				t.Fatalf("result %+v", got)
			}
			data, err := os.ReadFile(filepath.Join(ws, tc.file))
			if err != nil || string(data) != content {
				t.Fatalf("file = %q, %v", data, err)
			}
		})
	}
	if st, _ := os.Stat(filepath.Join(ws, "exists.txt")); runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("replace changed the mode to %v", st.Mode().Perm())
	}
	// No temporary files are left behind.
	filepath.WalkDir(ws, func(p string, d os.DirEntry, err error) error {
		if strings.Contains(d.Name(), ".weftos-") {
			t.Errorf("leftover temporary file %s", p)
		}
		return nil
	})
}

func TestEditFile(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		code string
		n    int
		want string
	}{
		{"unique", map[string]any{"old_string": "beta", "new_string": "BETA"}, "", 1, "alpha beta gamma alpha\n"[:0] + "alpha BETA gamma alpha\n"},
		{"not unique", map[string]any{"old_string": "alpha", "new_string": "A"}, CodeNotUnique, 0, ""},
		{"replace all", map[string]any{"old_string": "alpha", "new_string": "A", "replace_all": true}, "", 2, "A beta gamma A\n"},
		{"not found", map[string]any{"old_string": "delta", "new_string": "x"}, CodeNotFound, 0, ""},
		{"whitespace matters", map[string]any{"old_string": "beta  gamma", "new_string": "x"}, CodeNotFound, 0, ""},
		{"delete", map[string]any{"old_string": " gamma", "new_string": ""}, "", 1, "alpha beta alpha\n"},
		{"identical", map[string]any{"old_string": "beta", "new_string": "beta"}, CodeInvalidInput, 0, ""},
		{"empty old", map[string]any{"old_string": "", "new_string": "x"}, CodeInvalidInput, 0, ""},
		{"grows too large", map[string]any{"old_string": "beta", "new_string": strings.Repeat("b", 100)}, CodeTooLarge, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, ws, _ := newEnv(t, Policy{MaxWriteBytes: 64}, nil)
			const orig = "alpha beta gamma alpha\n"
			writeWS(t, ws, map[string]string{"f.txt": orig})
			tc.in["path"] = "f.txt"
			out, err := tool(t, "edit_file").Run(context.Background(), env, mustJSON(t, tc.in))
			wantCode(t, err, tc.code)
			data, _ := os.ReadFile(filepath.Join(ws, "f.txt"))
			if tc.code != "" {
				if string(data) != orig {
					t.Fatalf("failed edit changed the file to %q", data)
				}
				return
			}
			if got := decodeInto[EditFileResult](t, out); got.Replacements != tc.n {
				t.Fatalf("replacements = %d, want %d", got.Replacements, tc.n)
			}
			if string(data) != tc.want {
				t.Fatalf("file = %q, want %q", data, tc.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		env, _, _ := newEnv(t, Policy{}, nil)
		_, err := tool(t, "edit_file").Run(context.Background(), env, mustJSON(t, map[string]any{"path": "none.txt", "old_string": "a", "new_string": "b"}))
		wantCode(t, err, CodeNotFound)
		if !strings.Contains(err.Error(), "write_file") {
			t.Fatalf("message should point to write_file: %v", err)
		}
	})
}

func TestListDir(t *testing.T) {
	env, ws, _ := newEnv(t, Policy{MaxListEntries: 100, MaxListDepth: 3}, nil)
	writeWS(t, ws, map[string]string{"b.txt": "bb", "a/x.txt": "x", "a/deep/deeper/z.txt": "z", "c/y.txt": "yyy"})
	if runtime.GOOS != "windows" {
		if err := os.Symlink("a", filepath.Join(ws, "link")); err != nil {
			t.Fatal(err)
		}
	}
	entries := func(es []DirEntry) string {
		var parts []string
		for _, e := range es {
			parts = append(parts, e.Path+":"+e.Type)
		}
		return strings.Join(parts, " ")
	}
	tests := []struct {
		name      string
		in        map[string]any
		code      string
		want      string
		truncated bool
	}{
		{"root flat", map[string]any{}, "", "a:dir b.txt:file c:dir link:symlink", false},
		{"recursive capped by policy", map[string]any{"recursive": true}, "", "a:dir a/deep:dir a/deep/deeper:dir a/x.txt:file b.txt:file c:dir c/y.txt:file link:symlink", false},
		{"recursive depth 2", map[string]any{"path": "a", "recursive": true, "max_depth": 2}, "", "a/deep:dir a/deep/deeper:dir a/x.txt:file", false},
		{"subdir", map[string]any{"path": "c"}, "", "c/y.txt:file", false},
		{"file", map[string]any{"path": "b.txt"}, CodeInvalidInput, "", false},
		{"missing", map[string]any{"path": "nope"}, CodeNotFound, "", false},
		{"dotdot", map[string]any{"path": ".."}, CodePathEscape, "", false},
		{"depth too big", map[string]any{"recursive": true, "max_depth": 99}, CodeInvalidInput, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tool(t, "list_dir").Run(context.Background(), env, mustJSON(t, tc.in))
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			got := decodeInto[ListDirResult](t, out)
			want := tc.want
			if runtime.GOOS == "windows" {
				want = strings.TrimSuffix(want, " link:symlink")
			}
			if entries(got.Entries) != want || got.Truncated != tc.truncated {
				t.Fatalf("got %s (truncated %v)\nwant %s", entries(got.Entries), got.Truncated, want)
			}
		})
	}
	t.Run("entry cap", func(t *testing.T) {
		small, sws, _ := newEnv(t, Policy{MaxListEntries: 3}, nil)
		writeWS(t, sws, map[string]string{"1": "", "2": "", "3": "", "4": "", "5": ""})
		out, err := tool(t, "list_dir").Run(context.Background(), small, mustJSON(t, map[string]any{"path": "."}))
		wantCode(t, err, "")
		got := decodeInto[ListDirResult](t, out)
		if len(got.Entries) != 3 || !got.Truncated || got.Entries[0].Path != "1" {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("sizes", func(t *testing.T) {
		out, _ := tool(t, "list_dir").Run(context.Background(), env, mustJSON(t, map[string]any{"path": "c"}))
		if got := decodeInto[ListDirResult](t, out); got.Entries[0].Size != 3 {
			t.Fatalf("size = %d", got.Entries[0].Size)
		}
	})
}

func TestFSActions(t *testing.T) {
	env, ws, _ := newEnv(t, Policy{}, nil)
	tests := []struct {
		tool string
		in   map[string]any
		want Action
		code string
	}{
		{"read_file", map[string]any{"path": "x/y.txt"}, Action{Name: "fs.read", Tool: "read_file", Path: filepath.Join(ws, "x", "y.txt")}, ""},
		{"list_dir", map[string]any{}, Action{Name: "fs.read", Tool: "list_dir", Path: ws}, ""},
		{"write_file", map[string]any{"path": "a/../b.txt", "content": ""}, Action{Name: "fs.write", Tool: "write_file", Path: filepath.Join(ws, "b.txt")}, ""},
		{"edit_file", map[string]any{"path": ".ssh/id", "old_string": "a", "new_string": "b"}, Action{Name: "fs.write", Tool: "edit_file", Path: filepath.Join(ws, ".ssh", "id")}, ""},
		{"write_file", map[string]any{"path": "../x", "content": ""}, Action{}, CodePathEscape},
		{"write_file", map[string]any{"path": "x"}, Action{}, CodeInvalidInput},
	}
	for _, tc := range tests {
		a, err := tool(t, tc.tool).Action(env, mustJSON(t, tc.in))
		wantCode(t, err, tc.code)
		if tc.code == "" && (a.Name != tc.want.Name || a.Tool != tc.want.Tool || a.Path != tc.want.Path) {
			t.Errorf("%s %v: got %+v want %+v", tc.tool, tc.in, a, tc.want)
		}
	}
	if _, err := tool(t, "read_file").Action(nil, mustJSON(t, map[string]any{"path": "x"})); ErrorCode(err) != CodeUnavailable {
		t.Errorf("nil env: %v", err)
	}
}

// TestWriteFileAtomicUnderConcurrentReads: readers never see a mix of two
// versions or a partial file while a writer keeps replacing it.
func TestWriteFileAtomicUnderConcurrentReads(t *testing.T) {
	env, _, _ := newEnv(t, Policy{}, nil)
	ctx := context.Background()
	versions := []string{strings.Repeat("A", 5000) + "\n", strings.Repeat("B", 7000) + "\n"}
	if _, err := tool(t, "write_file").Run(ctx, env, mustJSON(t, map[string]any{"path": "f.txt", "content": versions[0]})); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				out, err := tool(t, "read_file").Run(ctx, env, json.RawMessage(`{"path":"f.txt"}`))
				if err != nil {
					errs <- err
					return
				}
				var r ReadFileResult
				_ = json.Unmarshal(out, &r)
				if r.Content != versions[0] && r.Content != versions[1] {
					errs <- fmt.Errorf("torn read: %d bytes", len(r.Content))
					return
				}
			}
		}()
	}
	for i := range 100 {
		if _, err := tool(t, "write_file").Run(ctx, env, mustJSON(t, map[string]any{"path": "f.txt", "content": versions[i%2]})); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
