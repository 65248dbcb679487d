package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/cmdline/cmdlinetest"
)

// These tests run weft in-process through run, the function main calls:
// the same dispatch, output and exit codes as the binary, without a build.

func runNoStdin(args []string, stdout, stderr io.Writer) int {
	return run(args, strings.NewReader(""), stdout, stderr)
}

func TestEveryCommandAnswersHelp(t *testing.T) {
	cmdlinetest.Help(t, program(&env{}), runNoStdin)
}

func TestMisspelledCommands(t *testing.T) {
	cmdlinetest.Misspellings(t, program(&env{}), runNoStdin)
	cases := []struct {
		args   []string
		stderr string
	}{
		{[]string{"agnet", "-m", "hi"}, "weft: unknown command \"agnet\" — did you mean \"agent\"? (run `weft help`)\n"},
		{[]string{"sesions", "list"}, "weft: unknown command \"sesions\" — did you mean \"sessions\"? (run `weft help`)\n"},
		{[]string{"tools", "--json", "lst"}, "weft: tools: unknown subcommand \"lst\" — did you mean \"list\"? (run `weft tools --help`)\n"},
		{[]string{"help", "tools", "instal"}, "weft: tools: unknown subcommand \"instal\" — did you mean \"install\"? (run `weft tools --help`)\n"},
		{[]string{"frobnicate"}, "weft: unknown command \"frobnicate\" (run `weft help`)\n"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if code := runNoStdin(c.args, &out, &errb); code != cmdline.ExitUsage || errb.String() != c.stderr || out.Len() != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %q", c.args, code, out.String(), errb.String(), c.stderr)
		}
	}
}

// TestUsageErrors: a bad command line is exit 2 with one line and a hint
// naming the command's help, and boots no kernel.
func TestUsageErrors(t *testing.T) {
	home := filepath.Join(t.TempDir(), "nohome")
	cases := []struct {
		args []string
		msg  string // the first line, after "weft: "
		cmd  string // the command the hint names
	}{
		{[]string{"agent", "extra"}, "agent: wrong number of arguments: want none, got 1", "agent"},
		{[]string{"agent", "--bogus"}, "agent: flag provided but not defined: -bogus", "agent"},
		{[]string{"plan"}, "plan: wrong number of arguments: want GOAL..., got 0", "plan"},
		{[]string{"plan", "--workers", "0", "goal"}, "plan: --workers 0: want 1 to 32", "plan"},
		{[]string{"agent", "--max-turns", "-1", "-m", "hi"}, "agent: --max-turns -1: want 1 to 1000", "agent"},
		{[]string{"agent", "--max-turns", "1001", "-m", "hi"}, "agent: --max-turns 1001: want 1 to 1000", "agent"},
		{[]string{"agent", "--session", "../x", "-m", "hi"}, `agent: --session: session: invalid session name: "../x" (1-64 of A-Z a-z 0-9 _ . -, starting with a letter or digit)`, "agent"},
		{[]string{"plan", "--replans", "-1", "goal"}, "plan: --replans -1: want 0 or more", "plan"},
		{[]string{"plan", "  "}, "plan: the goal is empty", "plan"},
		{[]string{"models", "a", "b"}, "models: wrong number of arguments: want [PROVIDER], got 2", "models"},
		{[]string{"sessions"}, "sessions: missing subcommand (want list, show, rm, export or fork)", "sessions"},
		{[]string{"sessions", "show"}, "sessions show: wrong number of arguments: want NAME, got 0", "sessions show"},
		{[]string{"sessions", "list", "x"}, "sessions list: wrong number of arguments: want none, got 1", "sessions list"},
		{[]string{"tools", "run", "echo", "--input", "{"}, "--input is not valid JSON", "tools run"},
		{[]string{"tools", "list", "--input", "{}"}, "tools list: flag provided but not defined: -input", "tools list"},
		{[]string{"tools", "rm"}, "tools remove: wrong number of arguments: want NAME, got 0", "tools remove"},
		{[]string{"skills", "list", "--json=maybe"}, `skills list: invalid boolean value "maybe" for -json: parse error`, "skills list"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := runNoStdin(append(c.args, "--home", home), &out, &errb)
		lines := strings.Split(strings.TrimSuffix(errb.String(), "\n"), "\n")
		hint := "run 'weft " + c.cmd + " --help' for usage"
		if code != cmdline.ExitUsage || out.Len() != 0 || len(lines) != 2 || lines[0] != "weft: "+c.msg || lines[1] != hint {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want weft: %s / %s", c.args, code, out.String(), errb.String(), c.msg, hint)
		}
	}
	if _, err := os.Stat(home); err == nil {
		t.Fatal("a usage error touched the home")
	}
}

func TestCompletionScripts(t *testing.T) {
	cmdlinetest.Completion(t, program(&env{}), runNoStdin)
}
