package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/cmdline/cmdlinetest"
)

// These tests run weave in-process through run, the function main calls:
// the same dispatch, output and exit codes as the binary, without a build.

func TestEveryCommandAnswersHelp(t *testing.T) {
	cmdlinetest.Help(t, program(&env{}), run)
}

func TestMisspelledCommands(t *testing.T) {
	cmdlinetest.Misspellings(t, program(&env{}), run)
	cases := []struct {
		args   []string
		stderr string
	}{
		{[]string{"chian"}, "weave: unknown command \"chian\" — did you mean \"chain\"? (run `weave help`)\n"},
		{[]string{"stauts", "--json"}, "weave: unknown command \"stauts\" — did you mean \"status\"? (run `weave help`)\n"},
		{[]string{"chain", "verfy"}, "weave: chain: unknown subcommand \"verfy\" — did you mean \"verify\"? (run `weave chain --help`)\n"},
		{[]string{"gov", "aprove", "x"}, "weave: gov: unknown subcommand \"aprove\" — did you mean \"approve\"? (run `weave gov --help`)\n"},
		{[]string{"help", "memroy"}, "weave: unknown command \"memroy\" — did you mean \"memory\"? (run `weave help`)\n"},
		{[]string{"frobnicate"}, "weave: unknown command \"frobnicate\" (run `weave help`)\n"},
		{[]string{"chain", "xyzzy"}, "weave: chain: unknown subcommand \"xyzzy\" (run `weave chain --help`)\n"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if code := run(c.args, &out, &errb); code != cmdline.ExitUsage || errb.String() != c.stderr || out.Len() != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %q", c.args, code, out.String(), errb.String(), c.stderr)
		}
	}
}

// TestUsageErrors: a bad command line is exit 2 with one line and a hint
// naming the command's help — never a usage dump, and never a request to
// the daemon (none runs here).
func TestUsageErrors(t *testing.T) {
	home := filepath.Join(t.TempDir(), "nohome")
	cases := []struct {
		args []string
		msg  string // the first line, after "weave: "
		cmd  string // the command the hint names
	}{
		{[]string{"memory", "search", "-k", "-1", "q"}, `memory search: invalid value "-1" for flag -k: must not be negative`, "memory search"},
		{[]string{"chain", "tail", "-n", "-5"}, `chain tail: invalid value "-5" for flag -n: must not be negative`, "chain tail"},
		{[]string{"ipc", "subscribe", "news", "--count", "-1"}, `ipc subscribe: invalid value "-1" for flag -count: must not be negative`, "ipc subscribe"},
		{[]string{"ipc", "subscribe", " "}, "ipc subscribe: the topic is empty", "ipc subscribe"},
		{[]string{"ipc", "publish", "", "x"}, "ipc publish: the topic is empty", "ipc publish"},
		{[]string{"memory", "bench", "--k", "-1"}, `memory bench: invalid value "-1" for flag -k: must not be negative`, "memory bench"},
		{[]string{"memory", "gen", "--out", "x", "--dim", "-16"}, `memory gen: invalid value "-16" for flag -dim: must not be negative`, "memory gen"},
		{[]string{"memory", "bench", "--bogus"}, "memory bench: flag provided but not defined: -bogus", "memory bench"},
		{[]string{"chain", "export", "--from", "-1"}, `chain export: invalid value "-1" for flag -from: parse error`, "chain export"},
		{[]string{"ps", "--bogus"}, "ps: flag provided but not defined: -bogus", "ps"},
		{[]string{"ps", "extra"}, "ps: wrong number of arguments: want none, got 1", "ps"},
		{[]string{"chain", "show"}, "chain show: wrong number of arguments: want SEQ, got 0", "chain show"},
		{[]string{"chain", "show", "x"}, `"x" is not a sequence number`, "chain show"},
		{[]string{"chain"}, "chain: missing subcommand (want status, tail, show, verify, export, prove, consistency, keys or witnesses)", "chain"},
		{[]string{"agent", "stop", "abc"}, `"abc" is not a PID`, "agent stop"},
		{[]string{"ipc", "send", "1"}, "ipc send: wrong number of arguments: want TARGET MSG, got 1", "ipc send"},
		{[]string{"ipc", "send", "--timeout", "-1s", "1", "x"}, "--timeout must be positive, got -1s", "ipc send"},
		{[]string{"boot", "--log-format", "xml"}, "--log-format must be text or json", "boot"},
		{[]string{"gov", "check"}, "gov check needs --action", "gov check"},
		{[]string{"completion", "tcsh"}, `completion: unknown shell "tcsh" (want bash, zsh or fish)`, "completion"},
		{[]string{"service", "register", "jobs"}, "service register needs --pid PID", "service register"},
		{[]string{"service", "register", "jobs", "--pid", "x"}, `--pid: "x" is not a PID`, "service register"},
		{[]string{"service", "register", "jobs.run", "--pid", "1"}, `service name "jobs.run": use 1-64`, "service register"},
		{[]string{"service", "unregister"}, "service unregister: wrong number of arguments: want NAME, got 0", "service unregister"},
		{[]string{"agent", "start"}, "agent start: wrong number of arguments: want NAME, got 0", "agent start"},
		{[]string{"ps", "--tree", "x"}, "ps: wrong number of arguments: want none, got 1", "ps"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := run(append(c.args, "--home", home), &out, &errb)
		lines := strings.Split(strings.TrimSuffix(errb.String(), "\n"), "\n")
		hint := "run 'weave " + c.cmd + " --help' for usage"
		if code != cmdline.ExitUsage || out.Len() != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "weave: "+c.msg) || lines[1] != hint {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want weave: %s / %s", c.args, code, out.String(), errb.String(), c.msg, hint)
		}
	}
	if _, err := os.Stat(home); err == nil {
		t.Fatal("a usage error touched the home")
	}
}

func TestCompletionScripts(t *testing.T) {
	cmdlinetest.Completion(t, program(&env{}), run)
	// The bash script completes a subcommand and a flag.
	var script bytes.Buffer
	if code := run([]string{"completion", "bash"}, &script, io.Discard); code != 0 {
		t.Fatal("completion bash")
	}
	for words, want := range map[string]string{"weave chain ver": "verify", "weave memory search -": "--filter", "weave cron r": "remove rm"} {
		cmd := exec.Command("bash", "--norc", "-c", `eval "$SCRIPT"; COMP_WORDS=($WORDS); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); __weave; echo "${COMPREPLY[*]}"`)
		cmd.Env = append(os.Environ(), "SCRIPT="+script.String(), "WORDS="+words)
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("%q: %q, %v; want %q", words, out, err, want)
		}
	}
}
