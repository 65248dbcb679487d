package tools

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/weftos/weftos/internal/clip"
	"github.com/weftos/weftos/internal/landlock"
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
	// Confined is true when the program ran under Landlock, confined to
	// the workspace; Note says why not, when it was not.
	Confined bool   `json:"confined"`
	Note     string `json:"note,omitempty"`
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
	for _, f := range env.policy.Forbidden {
		if _, inside := within(env.workspace, f); inside {
			return nil, toolErr(tool, CodeForbidden, nil, "shell_exec is refused: %s (which holds the node's keys) lies inside the workspace %s, and a program cannot be kept out of it; use a workspace that does not contain it", f, env.workspace)
		}
	}
	tmp, err := os.MkdirTemp("", "weftos-shell-")
	if err != nil {
		return nil, toolErr(tool, CodeFailed, err, "cannot create a temporary directory: %v", err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(ctx, pol.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, in.Args...)
	cmd.Dir = env.workspace
	cmd.Env = append([]string{"PATH=" + pol.Path, "HOME=" + env.workspace, "TMPDIR=" + tmp, "LANG=C.UTF-8", "LC_ALL=C.UTF-8"}, pol.Env...)
	stdout := &capped{max: pol.MaxOutputBytes}
	stderr := &capped{max: pol.MaxOutputBytes}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = time.Second
	setProcessGroup(cmd)
	confined, note, err := env.startConfined(cmd, tmp)
	if err != nil {
		return nil, err
	}
	err = cmd.Wait()
	res := &ShellExecResult{Stdout: stdout.String(), Stderr: stderr.String(),
		StdoutTruncated: stdout.dropped > 0, StderrTruncated: stderr.dropped > 0, Confined: confined, Note: note}
	if ctx.Err() != nil {
		return nil, toolErr(tool, CodeTimeout, ctx.Err(), "%s did not finish within %s and was killed; partial stdout: %q", in.Command, pol.Timeout, clip.Ellipsis(res.Stdout, 2000))
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

// startConfined starts cmd under Landlock per the shell policy: the
// workspace and tmp read-write, the policy's system paths read and
// execute, TCP denied unless the agent holds can_network. It reports
// whether the program is confined and, if not, why.
func (e *Env) startConfined(cmd *exec.Cmd, tmp string) (bool, string, error) {
	const tool = "shell_exec"
	pol := e.policy.Shell
	if pol.Confine == ConfineOff {
		if err := cmd.Start(); err != nil {
			return false, "", toolErr(tool, CodeFailed, err, "cannot run %s: %v", cmd.Path, err)
		}
		return false, "confinement is off in the shell policy: the program could read anything the daemon can", nil
	}
	for _, f := range e.policy.Forbidden {
		for _, ro := range pol.ReadOnly {
			if _, inside := within(ro, f); inside {
				return false, "", toolErr(tool, CodeForbidden, nil, "shell_exec is refused: %s lies inside the system path %s programs may read", f, ro)
			}
		}
	}
	rules := landlock.Rules{ReadWrite: []string{e.workspace, tmp, os.DevNull}, ReadExec: pol.ReadOnly, DenyNetwork: !pol.Network}
	_, err := landlock.Start(cmd, rules)
	switch {
	case err == nil:
		return true, "", nil
	case errors.Is(err, landlock.ErrUnsupported) && pol.Confine == ConfineBestEffort:
		if err := cmd.Start(); err != nil {
			return false, "", toolErr(tool, CodeFailed, err, "cannot run %s: %v", cmd.Path, err)
		}
		return false, "not confined: " + err.Error(), nil
	case errors.Is(err, landlock.ErrUnsupported):
		return false, "", toolErr(tool, CodeUnavailable, err, "shell_exec is refused: programs cannot be confined to the workspace on this system (%v); the operator may set agents.shell_confinement = \"best_effort\" in weftos.toml to run them unconfined", err)
	}
	return false, "", toolErr(tool, CodeFailed, err, "cannot run %s: %v", cmd.Path, err)
}

// ShellConfinement describes how shell_exec programs are confined on this
// system, for `weave doctor` and status: "landlock ABI N", or an error
// wrapping landlock.ErrUnsupported.
func ShellConfinement() (string, error) {
	v, err := landlock.Supported()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("landlock ABI %d", v), nil
}
