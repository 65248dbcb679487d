package cmdline

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
)

// testProgram is a small table: a leaf, a group with an aliased
// subcommand, and actions that record what they were given.
func testProgram(got *[]string) *Program {
	var home string
	var asJSON bool
	record := func(name string, extra func() string) func(fs *flag.FlagSet) Action {
		return func(fs *flag.FlagSet) Action {
			return func(_ context.Context, args []string) error {
				*got = append(*got, fmt.Sprintf("%s %q home=%s json=%v %s", name, args, home, asJSON, extra()))
				return nil
			}
		}
	}
	return &Program{
		Name: "tp", Summary: "a test program", Version: "1.2",
		Footer: "Every command takes --home DIR.",
		Globals: func(fs *flag.FlagSet) {
			fs.StringVar(&home, "home", "/h", "home `DIR`")
			fs.BoolVar(&asJSON, "json", false, "print JSON")
		},
		Commands: []*Command{
			{Name: "status", Summary: "show status", Setup: record("status", func() string { return "" })},
			{Name: "chain", Summary: "the chain", Subs: []*Command{
				{Name: "tail", Summary: "recent events", Setup: func(fs *flag.FlagSet) Action {
					n := Count(fs, "n", 20, "how many")
					kind := fs.String("kind", "", "only this kind")
					return record("tail", func() string { return fmt.Sprintf("n=%d kind=%s", *n, *kind) })(fs)
				}},
				{Name: "show", Summary: "one event", Args: "SEQ", MinArgs: 1, MaxArgs: 1, Setup: record("show", func() string { return "" })},
				{Name: "remove", Aliases: []string{"rm"}, Summary: "remove", Args: "ID...", MinArgs: 1, MaxArgs: -1, Setup: record("remove", func() string { return "" })},
				{Name: "fail", Summary: "fails", Setup: func(*flag.FlagSet) Action {
					return func(context.Context, []string) error { return errors.New("it broke\nbadly") }
				}},
				{Name: "misuse", Summary: "usage error from the action", Setup: func(*flag.FlagSet) Action {
					return func(context.Context, []string) error { return Usagef("--x must be set") }
				}},
			}},
		},
	}
}

func TestRun(t *testing.T) {
	cases := []struct {
		args   []string
		code   int
		got    string // what the action recorded
		stdout string // contained in stdout
		stderr string // stderr, exactly
	}{
		{args: []string{"status"}, got: `status [] home=/h json=false `},
		{args: []string{"status", "--home", "/x", "--json"}, got: `status [] home=/x json=true `},
		{args: []string{"chain", "tail", "-n", "3", "--kind", "k"}, got: `tail [] home=/h json=false n=3 kind=k`},
		{args: []string{"chain", "show", "--json", "7"}, got: `show ["7"] home=/h json=true `},
		{args: []string{"chain", "rm", "a", "b"}, got: `remove ["a" "b"] home=/h json=false `},
		// Flags before the subcommand, a value flag's value skipped.
		{args: []string{"chain", "--home", "show", "show", "1"}, got: `show ["1"] home=show json=false `},
		{args: []string{"chain", "--json", "tail"}, got: `tail [] home=/h json=true n=20 kind=`},
		// Help: stdout, exit 0, nothing on stderr.
		{args: nil, stdout: "Usage: tp COMMAND"},
		{args: []string{"--help"}, stdout: "Every command takes --home DIR."},
		{args: []string{"-h"}, stdout: "  status      show status"},
		{args: []string{"help"}, stdout: "  completion  print a shell completion script"},
		{args: []string{"chain", "--help"}, stdout: "Usage: tp chain SUBCOMMAND"},
		{args: []string{"chain", "-h"}, stdout: "  remove, rm  remove\n"},
		{args: []string{"help", "chain"}, stdout: "  tail        recent events\n"},
		{args: []string{"chain", "help", "tail"}, stdout: "Usage: tp chain tail [flags]"},
		{args: []string{"help", "chain", "tail"}, stdout: "  -n int         how many (default 20)\n"},
		{args: []string{"chain", "tail", "--help"}, stdout: "Global flags:\n  --home DIR  home DIR (default \"/h\")\n  --json      print JSON\n"},
		{args: []string{"chain", "show", "-h"}, stdout: "Usage: tp chain show SEQ [flags]"},
		{args: []string{"help", "chain", "rm"}, stdout: "Aliases: rm"},
		{args: []string{"version"}, stdout: "tp 1.2\n"},
		{args: []string{"--version"}, stdout: "tp 1.2\n"},
		// Unknown commands: one line, a suggestion only for a likely typo.
		{args: []string{"stauts"}, code: ExitUsage, stderr: "tp: unknown command \"stauts\" — did you mean \"status\"? (run `tp help`)\n"},
		{args: []string{"frobnicate"}, code: ExitUsage, stderr: "tp: unknown command \"frobnicate\" (run `tp help`)\n"},
		{args: []string{"chain", "tial"}, code: ExitUsage, stderr: "tp: chain: unknown subcommand \"tial\" — did you mean \"tail\"? (run `tp chain --help`)\n"},
		{args: []string{"help", "chian"}, code: ExitUsage, stderr: "tp: unknown command \"chian\" — did you mean \"chain\"? (run `tp help`)\n"},
		{args: []string{"help", "status", "x"}, code: ExitUsage, stderr: "tp: help: status has no subcommands\nrun 'tp help --help' for usage\n"},
		// Usage errors: one line and a hint, printed once.
		{args: []string{"chain"}, code: ExitUsage, stderr: "tp: chain: missing subcommand (want tail, show, remove, fail or misuse)\nrun 'tp chain --help' for usage\n"},
		{args: []string{"chain", "show"}, code: ExitUsage, stderr: "tp: chain show: wrong number of arguments: want SEQ, got 0\nrun 'tp chain show --help' for usage\n"},
		{args: []string{"status", "x"}, code: ExitUsage, stderr: "tp: status: wrong number of arguments: want none, got 1\nrun 'tp status --help' for usage\n"},
		{args: []string{"chain", "tail", "--bogus"}, code: ExitUsage, stderr: "tp: chain tail: flag provided but not defined: -bogus\nrun 'tp chain tail --help' for usage\n"},
		{args: []string{"chain", "tail", "-n", "-1"}, code: ExitUsage, stderr: "tp: chain tail: invalid value \"-1\" for flag -n: must not be negative\nrun 'tp chain tail --help' for usage\n"},
		{args: []string{"chain", "tail", "-n", "x"}, code: ExitUsage, stderr: "tp: chain tail: invalid value \"x\" for flag -n: not an integer\nrun 'tp chain tail --help' for usage\n"},
		{args: []string{"chain", "misuse"}, code: ExitUsage, stderr: "tp: --x must be set\nrun 'tp chain misuse --help' for usage\n"},
		{args: []string{"completion", "tcsh"}, code: ExitUsage, stderr: "tp: completion: unknown shell \"tcsh\" (want bash, zsh or fish)\nrun 'tp completion --help' for usage\n"},
		// A failed operation: exit 1, one line, no hint.
		{args: []string{"chain", "fail"}, code: ExitError, stderr: "tp: it broke; badly\n"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, "_"), func(t *testing.T) {
			var got []string
			var out, errb bytes.Buffer
			code := testProgram(&got).Run(context.Background(), c.args, &out, &errb)
			if code != c.code || errb.String() != c.stderr {
				t.Fatalf("exit %d, stderr %q; want %d, %q", code, errb.String(), c.code, c.stderr)
			}
			if c.got != "" && (len(got) != 1 || got[0] != c.got) {
				t.Fatalf("ran %q, want %q", got, c.got)
			}
			if c.got == "" && len(got) != 0 {
				t.Fatalf("ran %q", got)
			}
			if !strings.Contains(out.String(), c.stdout) || (c.code != 0 && out.Len() != 0) {
				t.Fatalf("stdout %q lacks %q", out.String(), c.stdout)
			}
		})
	}
}

func TestWalkAndCheck(t *testing.T) {
	var got []string
	p := testProgram(&got)
	var paths []string
	p.Walk(func(path []string, c *Command) { paths = append(paths, strings.Join(path, "/")) })
	want := "|status|chain|chain/tail|chain/show|chain/remove|chain/fail|chain/misuse|completion|help|version"
	if strings.Join(paths, "|") != want {
		t.Fatalf("walk: %s", strings.Join(paths, "|"))
	}
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	setup := func(fs *flag.FlagSet) Action { fs.Bool("h", false, ""); return nil }
	p.Commands = append(p.Commands,
		&Command{Name: "status", Summary: "again", Setup: setup},
		&Command{Name: "bad name", Setup: setup, Subs: []*Command{{Name: "x", Summary: "x"}}},
		&Command{Name: "args", Summary: "x", Args: "A", MinArgs: 2, MaxArgs: 1, Setup: func(*flag.FlagSet) Action { return nil }},
	)
	err := p.Check()
	for _, want := range []string{
		`tp: two subcommands named "status"`,
		`tp status: flag name "h"`,
		`tp bad name: no summary`,
		`tp bad name: name "bad name"`,
		`tp bad name: want exactly one of Setup and Subs`,
		`tp bad name x: want exactly one of Setup and Subs`,
		`tp args: Args "A", MinArgs 2, MaxArgs 1 disagree`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check = %v, lacks %q", err, want)
		}
	}
}

func TestSuggest(t *testing.T) {
	cands := []string{"status", "chain", "cron", "ps", "gov", "memory", "shutdown", "completion"}
	cases := []struct{ name, want string }{
		{"chian", "chain"},   // transposition
		{"chan", "chain"},    // deletion
		{"stauts", "status"}, // transposition
		{"Status", "status"}, // case
		{"memroy", "memory"}, // transposition
		{"shutdwon", "shutdown"},
		{"p", "ps"},
		{"completon", "completion"},
		{"complete", ""}, // three edits in eight letters
		{"frobnicate", ""},
		{"xyz", ""},
		{"chainsaw", ""},
		{"", ""},
	}
	for _, c := range cases {
		if got := Suggest(c.name, cands); got != c.want {
			t.Errorf("Suggest(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestDistance(t *testing.T) {
	cases := []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"chain", "chain", 0},
		{"chian", "chain", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3},
		{"GOV", "gov", 0}, {"héllo", "hello", 1},
	}
	for _, c := range cases {
		if got := Distance(c.a, c.b); got != c.d {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
		if got := Distance(c.b, c.a); got != c.d {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.b, c.a, got, c.d)
		}
	}
}
