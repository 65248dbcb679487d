//go:build unix

package tools

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestEscapeErrorText guards isEscape: it must recognise os.Root's refusal.
func TestEscapeErrorText(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/", filepath.Join(dir, "up")); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, p := range []string{"../x", "up/etc"} {
		if _, err := r.Open(p); !isEscape(err) {
			t.Fatalf("os.Root error for %s not recognised as an escape: %v", p, err)
		}
	}
	if isEscape(os.ErrNotExist) || isEscape(nil) {
		t.Fatal("false positive")
	}
}

// setupEscapes builds a workspace full of links that lead outside it.
func setupEscapes(t *testing.T) (*Env, string, string) {
	env, ws, outside := newEnv(t, Policy{}, nil)
	links := map[string]string{
		"abs_file":     filepath.Join(outside, "secret.txt"), // absolute target outside
		"rel_file":     "../outside/secret.txt",              // relative target outside
		"dir_out":      outside,                              // intermediate directory symlink
		"dir_out_rel":  "../outside",                         // relative intermediate directory symlink
		"dangling":     filepath.Join(outside, "new.txt"),    // dangling, pointing outside
		"dangling_rel": "../outside/new-rel.txt",             // dangling relative, pointing outside
		"dangling_dir": filepath.Join(outside, "newdir"),     // dangling directory, outside
		"chain1":       "chain2",                             // chain: chain1 → chain2 → outside
		"chain2":       outside,
		"loop":         "loop", // self loop
		"inside":       "real.txt",
		"in_dir":       "sub",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(ws, name)); err != nil {
			t.Fatal(err)
		}
	}
	writeWS(t, ws, map[string]string{"real.txt": "real\n", "sub/f.txt": "f\n"})
	return env, ws, outside
}

func TestSymlinkEscapes(t *testing.T) {
	env, _, outside := setupEscapes(t)
	ctx := context.Background()
	type call struct {
		tool string
		in   map[string]any
		code string
	}
	rd := func(p string) map[string]any { return map[string]any{"path": p} }
	wr := func(p string) map[string]any { return map[string]any{"path": p, "content": "pwned"} }
	ed := func(p string) map[string]any {
		return map[string]any{"path": p, "old_string": "SECRET", "new_string": "pwned"}
	}
	var calls []call
	for _, p := range []string{"abs_file", "rel_file", "dir_out/secret.txt", "dir_out_rel/secret.txt", "chain1/secret.txt"} {
		calls = append(calls,
			call{"read_file", rd(p), CodePathEscape},
			call{"write_file", wr(p), CodePathEscape},
			call{"edit_file", ed(p), CodePathEscape},
		)
	}
	for _, p := range []string{"dangling", "dangling_rel", "dangling_dir/x.txt", "dir_out/new.txt", "dangling_dir/a/b.txt"} {
		calls = append(calls,
			call{"read_file", rd(p), CodePathEscape},
			call{"write_file", wr(p), CodePathEscape},
		)
	}
	for _, p := range []string{"dir_out", "dir_out_rel", "chain1", "dangling_dir"} {
		calls = append(calls, call{"list_dir", rd(p), CodePathEscape})
	}
	calls = append(calls,
		call{"read_file", rd("loop"), CodePathEscape},
		call{"read_file", rd("inside"), ""},          // a link inside the workspace is fine
		call{"read_file", rd("in_dir/f.txt"), ""},    // so is a directory link inside
		call{"list_dir", rd("in_dir"), ""},           //
		call{"write_file", wr("in_dir/g.txt"), ""},   // writing through an inside directory link
		call{"write_file", wr("inside"), CodeDenied}, // but a final symlink is never replaced
		call{"edit_file", ed("inside"), CodeDenied},  //
		call{"write_file", wr("sub/../../x"), CodePathEscape},
		// ".." is resolved lexically before any link is followed, so this
		// names ws/outside/secret.txt, inside the workspace.
		call{"write_file", wr("dir_out/../outside/secret.txt"), ""},
	)
	for _, c := range calls {
		t.Run(c.tool+"/"+c.in["path"].(string), func(t *testing.T) {
			_, err := tool(t, c.tool).Run(ctx, env, mustJSON(t, c.in))
			wantCode(t, err, c.code)
		})
	}
	// Nothing outside the workspace was read into, changed or created.
	data, err := os.ReadFile(filepath.Join(outside, "secret.txt"))
	if err != nil || string(data) != "TOP SECRET\n" {
		t.Fatalf("secret changed: %q %v", data, err)
	}
	ents, _ := os.ReadDir(outside)
	if len(ents) != 1 {
		t.Fatalf("files were created outside the workspace: %v", ents)
	}
}

func TestListDirDoesNotFollowLinks(t *testing.T) {
	env, _, _ := setupEscapes(t)
	out, err := tool(t, "list_dir").Run(context.Background(), env, mustJSON(t, map[string]any{"recursive": true}))
	wantCode(t, err, "")
	got := decodeInto[ListDirResult](t, out)
	for _, e := range got.Entries {
		if filepath.Base(e.Path) == "secret.txt" {
			t.Fatalf("recursive listing followed a link outside: %v", e)
		}
	}
	if len(got.Entries) != 15 { // 12 links + real.txt + sub + sub/f.txt
		t.Fatalf("got %d entries: %+v", len(got.Entries), got.Entries)
	}
}

// TestWorkspaceThroughSymlink: a workspace reached through a symlink still
// works, and absolute paths through either spelling are accepted.
func TestWorkspaceThroughSymlink(t *testing.T) {
	parent := t.TempDir()
	real := filepath.Join(parent, "real")
	writeWS(t, real, map[string]string{"a.txt": "a\n"})
	alias := filepath.Join(parent, "alias")
	if err := os.Symlink(real, alias); err != nil {
		t.Fatal(err)
	}
	env, err := OpenEnv(alias, Policy{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	for _, p := range []string{"a.txt", filepath.Join(alias, "a.txt"), filepath.Join(env.Workspace(), "a.txt")} {
		if _, err := tool(t, "read_file").Run(context.Background(), env, mustJSON(t, map[string]any{"path": p})); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestReadFileRefusesFIFO(t *testing.T) {
	env, ws, _ := newEnv(t, Policy{}, nil)
	if err := syscall.Mkfifo(filepath.Join(ws, "fifo"), 0o644); err != nil {
		t.Skip(err)
	}
	for _, name := range []string{"read_file", "edit_file", "write_file"} {
		in := map[string]any{"path": "fifo", "old_string": "a", "new_string": "b", "content": "x"}
		if name == "read_file" {
			in = map[string]any{"path": "fifo"}
		} else if name == "write_file" {
			in = map[string]any{"path": "fifo", "content": "x"}
		} else {
			delete(in, "content")
		}
		_, err := tool(t, name).Run(context.Background(), env, mustJSON(t, in))
		wantCode(t, err, CodeInvalidInput)
	}
}
