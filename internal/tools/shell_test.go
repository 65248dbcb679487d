//go:build unix

package tools

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestShellExec(t *testing.T) {
	t.Setenv("WEFTOS_TOOLS_LEAK", "leaked")
	on := ShellPolicy{Enabled: true, Allow: []string{"echo", "false", "pwd", "env", "printf", "sleep", "sh", "evil", "weftos-no-such-program"}, Env: []string{"EXTRA=1"}}
	tests := []struct {
		name  string
		shell ShellPolicy
		in    map[string]any
		code  string
		check func(t *testing.T, r ShellExecResult, ws string)
	}{
		{"disabled", ShellPolicy{Allow: []string{"echo"}}, map[string]any{"command": "echo"}, CodeDenied, nil},
		{"not allowed", on, map[string]any{"command": "cat", "args": []string{"/etc/passwd"}}, CodeDenied, nil},
		{"path not name", on, map[string]any{"command": "/bin/echo"}, CodeInvalidInput, nil},
		{"relative path", on, map[string]any{"command": "./evil"}, CodeInvalidInput, nil},
		{"shell syntax", on, map[string]any{"command": "echo hi; rm -rf ."}, CodeInvalidInput, nil},
		{"args not strings", on, map[string]any{"command": "echo", "args": []any{1}}, CodeInvalidInput, nil},
		{"nul in arg", on, map[string]any{"command": "echo", "args": []string{"a\x00b"}}, CodeInvalidInput, nil},
		{"missing program", on, map[string]any{"command": "weftos-no-such-program"}, CodeNotFound, nil},
		{"workspace program not on PATH", on, map[string]any{"command": "evil"}, CodeNotFound, nil},
		{"no shell interpretation", on, map[string]any{"command": "echo", "args": []string{"$HOME", "*", ";", "`id`", "a b"}}, "", func(t *testing.T, r ShellExecResult, _ string) {
			if r.Stdout != "$HOME * ; `id` a b\n" || r.ExitCode != 0 {
				t.Fatalf("%+v", r)
			}
		}},
		{"exit code is a result", on, map[string]any{"command": "false"}, "", func(t *testing.T, r ShellExecResult, _ string) {
			if r.ExitCode != 1 {
				t.Fatalf("%+v", r)
			}
		}},
		{"stderr", on, map[string]any{"command": "sh", "args": []string{"-c", "echo oops >&2; exit 3"}}, "", func(t *testing.T, r ShellExecResult, _ string) {
			if r.ExitCode != 3 || r.Stderr != "oops\n" || r.Stdout != "" {
				t.Fatalf("%+v", r)
			}
		}},
		{"runs in workspace", on, map[string]any{"command": "pwd"}, "", func(t *testing.T, r ShellExecResult, ws string) {
			if strings.TrimSpace(r.Stdout) != ws {
				t.Fatalf("pwd = %q, want %q", r.Stdout, ws)
			}
		}},
		{"minimal env", on, map[string]any{"command": "env"}, "", func(t *testing.T, r ShellExecResult, ws string) {
			lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
			slices.Sort(lines)
			if n := len(lines); n != 6 || !strings.HasPrefix(lines[5], "TMPDIR="+os.TempDir()+"/weftos-shell-") {
				t.Fatalf("env = %q", lines)
			}
			want := []string{"EXTRA=1", "HOME=" + ws, "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin"}
			if !slices.Equal(lines[:5], want) {
				t.Fatalf("env = %q", lines)
			}
		}},
		{"output capped", ShellPolicy{Enabled: true, Allow: []string{"printf"}, MaxOutputBytes: 10}, map[string]any{"command": "printf", "args": []string{"%0100d", "0"}}, "", func(t *testing.T, r ShellExecResult, _ string) {
			if r.Stdout != strings.Repeat("0", 10) || !r.StdoutTruncated || r.StderrTruncated {
				t.Fatalf("%+v", r)
			}
		}},
		{"timeout kills the group", ShellPolicy{Enabled: true, Allow: []string{"sh"}, Timeout: 200 * time.Millisecond}, map[string]any{"command": "sh", "args": []string{"-c", "echo started; sleep 30 & sleep 30"}}, CodeTimeout, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, ws, _ := newEnv(t, Policy{Shell: tc.shell}, nil)
			if err := os.WriteFile(filepath.Join(ws, "evil"), []byte("#!/bin/sh\necho evil\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := tool(t, "shell_exec").Run(context.Background(), env, mustJSON(t, tc.in))
			wantCode(t, err, tc.code)
			if tc.check != nil {
				tc.check(t, decodeInto[ShellExecResult](t, out), ws)
			}
		})
	}
}

func TestShellExecRelativePathDirsIgnored(t *testing.T) {
	env, ws, _ := newEnv(t, Policy{Shell: ShellPolicy{Enabled: true, Allow: []string{"evil"}, Path: ".:" + "relative/bin"}}, nil)
	writeWS(t, ws, map[string]string{"relative/bin/evil": "#!/bin/sh\necho evil\n"})
	os.Chmod(filepath.Join(ws, "relative/bin/evil"), 0o755)
	os.WriteFile(filepath.Join(ws, "evil"), []byte("#!/bin/sh\necho evil\n"), 0o755)
	_, err := tool(t, "shell_exec").Run(context.Background(), env, mustJSON(t, map[string]any{"command": "evil"}))
	wantCode(t, err, CodeNotFound)
}

func TestShellExecCancelled(t *testing.T) {
	env, _, _ := newEnv(t, Policy{Shell: ShellPolicy{Enabled: true, Allow: []string{"echo"}}}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tool(t, "shell_exec").Run(ctx, env, mustJSON(t, map[string]any{"command": "echo"}))
	wantCode(t, err, CodeTimeout)
}

func TestShellAction(t *testing.T) {
	a, err := tool(t, "shell_exec").Action(nil, mustJSON(t, map[string]any{"command": "git", "args": []string{"status", "-s"}}))
	wantCode(t, err, "")
	if a.Name != "tool.shell.git" || a.Tool != "git" || a.Extra["argv"] != "git status -s" {
		t.Fatalf("%+v", a)
	}
	_, err = tool(t, "shell_exec").Action(nil, mustJSON(t, map[string]any{"command": "../git"}))
	wantCode(t, err, CodeInvalidInput)
}

// TestShellExecTimeoutKillsChildren: a background child of the timed-out
// program dies with it (the whole process group is killed).
func TestShellExecTimeoutKillsChildren(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	env, _, _ := newEnv(t, Policy{Shell: ShellPolicy{Enabled: true, Allow: []string{"sh"}, Timeout: 300 * time.Millisecond}}, nil)
	_, err := tool(t, "shell_exec").Run(context.Background(), env, mustJSON(t, map[string]any{"command": "sh", "args": []string{"-c", "sleep 60 & echo $!; wait"}}))
	wantCode(t, err, CodeTimeout)
	m := regexp.MustCompile(`"(\d+)\\n"`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("no child pid in %v", err)
	}
	pid, _ := strconv.Atoi(m[1])
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(b), ") Z ") {
			return // gone or a zombie: dead
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("background child %d survived the timeout: %s", pid, b)
		}
		<-time.After(5 * time.Millisecond) // poll the condition
	}
}
