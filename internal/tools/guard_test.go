//go:build unix

package tools

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/landlock"
)

// TestControlFilesProtected: agents may read control files but never
// create, change or delete them — however the path is spelled or linked.
func TestControlFilesProtected(t *testing.T) {
	env, ws, _ := newEnv(t, Policy{Protected: DefaultProtected}, nil)
	writeWS(t, ws, map[string]string{"agents/default.yaml": "name: default\n", "notes.md": "hi", "pkg/tool.toml": "name = \"x\"\n"})
	if err := os.Symlink(filepath.Join(ws, "agents"), filepath.Join(ws, "innocent")); err != nil {
		t.Fatal(err)
	}
	write := func(p string) error {
		_, err := tool(t, "write_file").Run(context.Background(), env, mustJSON(t, map[string]any{"path": p, "content": "capabilities: {shell: true}\n"}))
		return err
	}
	for _, p := range []string{"agents/default.yaml", "agents/new.yaml", "./agents/../agents/default.yaml", "Agents/Default.yaml",
		"innocent/default.yaml", "skills/x/SKILL.md", ".weftos/skills/y/SKILL.md", "weftos.toml", "constitution.toml", "pkg/tool.toml",
		filepath.Join(ws, "agents", "default.yaml")} {
		wantCode(t, write(p), CodeProtected)
		// Refused while the call is described, before governance.
		_, err := tool(t, "write_file").Action(env, mustJSON(t, map[string]any{"path": p, "content": "x"}))
		wantCode(t, err, CodeProtected)
	}
	_, err := tool(t, "edit_file").Run(context.Background(), env, mustJSON(t, map[string]any{"path": "agents/default.yaml", "old_string": "default", "new_string": "root"}))
	wantCode(t, err, CodeProtected)
	if b, _ := os.ReadFile(filepath.Join(ws, "agents", "default.yaml")); string(b) != "name: default\n" {
		t.Fatalf("a control file changed: %q", b)
	}
	// Reading is fine, and so is writing ordinary files.
	if _, err := tool(t, "read_file").Run(context.Background(), env, mustJSON(t, map[string]any{"path": "agents/default.yaml"})); err != nil {
		t.Fatal(err)
	}
	wantCode(t, write("notes.md"), "")
	wantCode(t, write("agents-notes.md"), "")
}

// TestForbiddenHome: the WeftOS home inside the workspace is neither
// readable, listable nor writable by any file tool, directly or through a
// symbolic link, and shell commands are refused outright.
func TestForbiddenHome(t *testing.T) {
	parent := t.TempDir()
	ws := filepath.Join(parent, "ws")
	home := filepath.Join(ws, ".weftos-home")
	writeWS(t, ws, map[string]string{".weftos-home/node.key": "PRIVATE", "README.md": "hi"})
	if err := os.Symlink(filepath.Join(home, "node.key"), filepath.Join(ws, "key-link")); err != nil {
		t.Fatal(err)
	}
	env, err := OpenEnv(ws, Policy{Forbidden: []string{home}, Shell: ShellPolicy{Enabled: true, Allow: []string{"cat"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	for _, tc := range []struct{ tool, path string }{
		{"read_file", ".weftos-home/node.key"}, {"read_file", "key-link"}, {"read_file", filepath.Join(home, "node.key")},
		{"list_dir", ".weftos-home"}, {"write_file", ".weftos-home/planted"},
	} {
		in := map[string]any{"path": tc.path}
		if tc.tool == "write_file" {
			in["content"] = "x"
		}
		_, err := tool(t, tc.tool).Run(context.Background(), env, mustJSON(t, in))
		wantCode(t, err, CodeForbidden)
	}
	out, err := tool(t, "list_dir").Run(context.Background(), env, mustJSON(t, map[string]any{"path": ".", "recursive": true}))
	if err != nil || strings.Contains(string(out), "node.key") || strings.Contains(string(out), ".weftos-home") {
		t.Fatalf("list_dir shows the home: %s %v", out, err)
	}
	_, err = tool(t, "shell_exec").Run(context.Background(), env, mustJSON(t, map[string]any{"command": "cat", "args": []string{".weftos-home/node.key"}}))
	wantCode(t, err, CodeForbidden)
}

// TestShellConfined: an allow-listed program reads the workspace but not
// the node's key in a home outside it, and cannot write outside; the
// result says it was confined.
func TestShellConfined(t *testing.T) {
	if _, err := landlock.Supported(); errors.Is(err, landlock.ErrUnsupported) {
		t.Skipf("no Landlock here: %v", err)
	}
	parent := t.TempDir()
	ws, home := filepath.Join(parent, "ws"), filepath.Join(parent, "home")
	writeWS(t, parent, map[string]string{"ws/README.md": "readme\n", "home/node.key": "PRIVATE\n"})
	env, err := OpenEnv(ws, Policy{Forbidden: []string{home}, Shell: ShellPolicy{Enabled: true, Allow: []string{"cat", "cp"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	run := func(args ...string) ShellExecResult {
		out, err := tool(t, "shell_exec").Run(context.Background(), env, mustJSON(t, map[string]any{"command": args[0], "args": args[1:]}))
		if err != nil {
			t.Fatal(err)
		}
		return decodeInto[ShellExecResult](t, out)
	}
	if r := run("cat", "README.md"); r.ExitCode != 0 || r.Stdout != "readme\n" || !r.Confined {
		t.Fatalf("cat README.md: %+v", r)
	}
	if r := run("cat", filepath.Join(home, "node.key")); r.ExitCode == 0 || strings.Contains(r.Stdout, "PRIVATE") || !r.Confined {
		t.Fatalf("an allow-listed cat read the node key: %+v", r)
	}
	if r := run("cp", "README.md", filepath.Join(parent, "escaped")); r.ExitCode == 0 {
		t.Fatalf("a confined cp wrote outside the workspace: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(parent, "escaped")); err == nil {
		t.Fatal("the file was written outside the workspace")
	}
}

// TestShellConfinementModes: with confinement off the result says the
// program was not confined.
func TestShellConfinementModes(t *testing.T) {
	env, _, _ := newEnv(t, Policy{Shell: ShellPolicy{Enabled: true, Allow: []string{"echo"}, Confine: ConfineOff}}, nil)
	out, err := tool(t, "shell_exec").Run(context.Background(), env, mustJSON(t, map[string]any{"command": "echo", "args": []string{"hi"}}))
	if err != nil {
		t.Fatal(err)
	}
	if r := decodeInto[ShellExecResult](t, out); r.Confined || !strings.Contains(r.Note, "off") {
		t.Fatalf("%+v", r)
	}
}

func TestMatchProtected(t *testing.T) {
	for _, tc := range []struct {
		pat, rel string
		want     bool
	}{
		{"agents/**", "agents", true}, {"agents/**", "agents/x.yaml", true}, {"agents/**", "agents2/x", false},
		{"**/tool.toml", "tool.toml", true}, {"**/tool.toml", "a/b/tool.toml", true}, {"**/tool.toml", "a/tool.toml.bak", false},
		{"weftos.toml", "weftos.toml", true}, {"weftos.toml", "sub/weftos.toml", false}, {"*.key", "node.key", true},
	} {
		if got := matchProtected(tc.pat, tc.rel); got != tc.want {
			t.Errorf("%s ~ %s = %v", tc.pat, tc.rel, got)
		}
	}
}
