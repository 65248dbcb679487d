package tools

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"time"
)

type shellExecIn struct {
	Command string   `json:"command"`
	Args    []string `json:"args"`
}

// ShellExecResult is the output of shell_exec.
type ShellExecResult struct {
	ExitCode        int    `json:"exit_code"`
	Stdout          string `json:"stdout"`
	Stderr          string `json:"stderr"`
	StdoutTruncated bool   `json:"stdout_truncated"`
	StderrTruncated bool   `json:"stderr_truncated"`
}

func shellExecTool() Tool {
	s := object([]string{"command"}, map[string]*Schema{
		"command": {Type: "string", Description: "Program name (no path, no shell syntax), e.g. \"git\". It must be on the policy's allow-list.", MinLength: ptr(1), MaxLength: ptr(255)},
		"args": {Type: "array", Description: "Arguments, passed as-is: no globbing, quoting, pipes or variable expansion.",
			Items: &Schema{Type: "string", MaxLength: ptr(32 << 10)}, MaxItems: ptr(1024)},
	})
	return newBuiltin("shell_exec",
		"Run an allow-listed program in the workspace directory, without a shell, with a timeout. Returns the exit code and the (capped) stdout and stderr. A non-zero exit code is a result, not an error.",
		s, shellAction, runShellExec)
}

func shellAction(_ *Env, in *shellExecIn) (Action, error) {
	if err := checkProgramName(in.Command); err != nil {
		return Action{}, err
	}
	return Action{Name: "tool.shell." + in.Command, Tool: in.Command,
		Extra: map[string]string{"argv": strings.Join(append([]string{in.Command}, in.Args...), " ")}}, nil
}

func checkProgramName(cmd string) error {
	if strings.ContainsAny(cmd, `/\`+"\x00") || cmd == "." || cmd == ".." {
		return toolErr("shell_exec", CodeInvalidInput, nil, "command must be a bare program name such as \"git\", not a path: %q", cmd)
	}
	if strings.ContainsAny(cmd, " \t\n|&;<>()$`'\"*?[]{}~") {
		return toolErr("shell_exec", CodeInvalidInput, nil, "command must be a single program name; put arguments in args (there is no shell): %q", cmd)
	}
	return nil
}

func runShellExec(ctx context.Context, env *Env, in *shellExecIn) (any, error) {
	const tool = "shell_exec"
	if err := checkProgramName(in.Command); err != nil {
		return nil, err
	}
	pol := env.policy.Shell
	if !pol.Enabled {
		return nil, toolErr(tool, CodeDenied, nil, "shell_exec is disabled by the tool policy")
	}
	if !slices.Contains(pol.Allow, in.Command) {
		return nil, toolErr(tool, CodeDenied, nil, "%q is not on the allow-list; allowed programs: %s", in.Command, allowed(pol.Allow))
	}
	for _, a := range in.Args {
		if strings.ContainsRune(a, 0) {
			return nil, toolErr(tool, CodeInvalidInput, nil, "arguments must not contain NUL bytes")
		}
	}
	prog, err := lookPath(in.Command, pol.Path)
	if err != nil {
		return nil, toolErr(tool, CodeNotFound, err, "program %q was not found on the tool PATH", in.Command)
	}
	ctx, cancel := context.WithTimeout(ctx, pol.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, in.Args...)
	cmd.Dir = env.workspace
	cmd.Env = append([]string{"PATH=" + pol.Path, "HOME=" + env.workspace, "LANG=C.UTF-8", "LC_ALL=C.UTF-8"}, pol.Env...)
	stdout := &capped{max: pol.MaxOutputBytes}
	stderr := &capped{max: pol.MaxOutputBytes}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = time.Second
	setProcessGroup(cmd)
	err = cmd.Run()
	res := &ShellExecResult{Stdout: stdout.String(), Stderr: stderr.String(),
		StdoutTruncated: stdout.dropped > 0, StderrTruncated: stderr.dropped > 0}
	if ctx.Err() != nil {
		return nil, toolErr(tool, CodeTimeout, ctx.Err(), "%s did not finish within %s and was killed; partial stdout: %q", in.Command, pol.Timeout, clip(res.Stdout, 2000))
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
	default:
		return nil, toolErr(tool, CodeFailed, err, "cannot run %s: %v", in.Command, err)
	}
	return res, nil
}

func allowed(list []string) string {
	if len(list) == 0 {
		return "(none)"
	}
	return strings.Join(list, ", ")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// lookPath finds prog in the directories of path only (never the workspace
// or the daemon's own PATH), accepting absolute directories only.
func lookPath(prog, path string) (string, error) {
	for _, dir := range strings.Split(path, string(listSep)) {
		if dir == "" || !isAbs(dir) {
			continue
		}
		if p, err := exec.LookPath(dir + string(pathSep) + prog); err == nil {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// capped keeps the first max bytes written and counts the rest.
type capped struct {
	max     int
	buf     []byte
	dropped int64
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.max - len(c.buf)
	if room > len(p) {
		room = len(p)
	}
	if room > 0 {
		c.buf = append(c.buf, p[:room]...)
	}
	c.dropped += int64(len(p) - max(room, 0))
	return len(p), nil
}

func (c *capped) String() string { return strings.ToValidUTF8(string(c.buf), "\uFFFD") }
