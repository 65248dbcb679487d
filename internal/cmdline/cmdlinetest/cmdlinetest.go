// Package cmdlinetest checks a binary's command table end to end: every
// command answers --help, -h and help …, misspelled commands get the right
// suggestion, and the completion scripts name every command and flag and
// parse in their shells. The checks walk the table, so a new command is
// covered with no test to add.
package cmdlinetest

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/cmdline"
)

// Run runs the binary's command line in-process and returns its exit code.
type Run func(args []string, stdout, stderr io.Writer) int

func call(run Run, args []string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// ownFlags are the flags c declares itself.
func ownFlags(c *cmdline.Command) []string {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	c.Setup(fs)
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// Help runs --help, -h and help … (and GROUP help SUB) for the top level
// and every command and subcommand of p: each must exit 0 with nothing on
// stderr and print its usage line, its subcommands and its flags.
func Help(t *testing.T, p *cmdline.Program, run Run) {
	t.Helper()
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	p.Walk(func(path []string, c *cmdline.Command) {
		usage := "Usage: " + strings.Join(append([]string{p.Name}, path...), " ")
		if len(path) == 0 {
			usage += " COMMAND"
		}
		variants := [][]string{
			slices.Concat(path, []string{"--help"}),
			slices.Concat(path, []string{"-h"}),
			slices.Concat([]string{"help"}, path),
		}
		if len(path) > 1 {
			variants = append(variants, slices.Concat(path[:len(path)-1], []string{"help"}, path[len(path)-1:]))
		}
		var want []string
		for _, s := range c.Subs {
			want = append(want, "  "+s.Name)
		}
		if c.Setup != nil {
			for _, f := range ownFlags(c) {
				d := "--" + f
				if len(f) == 1 {
					d = "-" + f
				}
				want = append(want, "  "+d+" ")
			}
		}
		for _, args := range variants {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				out, errs, code := call(run, args)
				if code != cmdline.ExitOK || errs != "" || !strings.HasPrefix(out, usage) && !strings.Contains(out, "\n"+usage) {
					t.Fatalf("exit %d, stderr %q, stdout without %q:\n%s", code, errs, usage, out)
				}
				for _, w := range want {
					if !strings.Contains(out, w) {
						t.Errorf("help lacks %q:\n%s", w, out)
					}
				}
			})
		}
	})
}

// typo transposes the second and third letters of name ("chain" →
// "cahin"), or returns "" when that is no typo (too short, or the same).
func typo(name string) string {
	r := []rune(name)
	if len(r) < 4 || r[1] == r[2] {
		return ""
	}
	r[1], r[2] = r[2], r[1]
	return string(r)
}

// Misspellings runs a transposition typo of every command and subcommand
// name of p and checks the error suggests that name, on one line, exit 2.
// A typo as close to another name of its level is skipped.
func Misspellings(t *testing.T, p *cmdline.Program, run Run) {
	t.Helper()
	n := 0
	p.Walk(func(path []string, c *cmdline.Command) {
		for _, s := range c.Subs {
			bad := typo(s.Name)
			if bad == "" {
				continue
			}
			ambiguous := false
			for _, o := range c.Subs {
				ambiguous = ambiguous || (o != s && cmdline.Distance(bad, o.Name) <= 1)
			}
			if ambiguous {
				continue
			}
			n++
			args := slices.Concat(path, []string{bad})
			out, errs, code := call(run, args)
			what := fmt.Sprintf("unknown command %q", bad)
			if len(path) > 0 {
				what = fmt.Sprintf("%s: unknown subcommand %q", strings.Join(path, " "), bad)
			}
			want := fmt.Sprintf("%s: %s — did you mean %q?", p.Name, what, s.Name)
			if code != cmdline.ExitUsage || out != "" || !strings.HasPrefix(errs, want) || strings.Count(errs, "\n") != 1 {
				t.Errorf("%q: exit %d, stdout %q, stderr %q; want %q…", args, code, out, errs, want)
			}
		}
	})
	if n == 0 {
		t.Fatal("no misspellings tried")
	}
}

// Completion checks, for every shell, that `completion SHELL` prints a
// script that names every command, subcommand and flag of p and that the
// shell parses (bash is required; zsh and fish are checked when
// installed).
func Completion(t *testing.T, p *cmdline.Program, run Run) {
	t.Helper()
	var words []string
	p.Walk(func(path []string, c *cmdline.Command) {
		if len(path) > 0 {
			words = append(words, c.Name)
			words = append(words, c.Aliases...)
		}
		if c.Setup != nil {
			words = append(words, ownFlags(c)...)
		}
	})
	for _, shell := range cmdline.Shells {
		t.Run(shell, func(t *testing.T) {
			out, errs, code := call(run, []string{"completion", shell})
			if code != 0 || errs != "" {
				t.Fatalf("exit %d: %s", code, errs)
			}
			for _, w := range words {
				if !strings.Contains(out, w) {
					t.Errorf("the %s script lacks %q", shell, w)
				}
			}
			if _, err := exec.LookPath(shell); err != nil {
				if shell == "bash" {
					t.Fatal("bash is not installed")
				}
				t.Skipf("%s is not installed", shell)
			}
			script := filepath.Join(t.TempDir(), p.Name+"."+shell)
			if err := os.WriteFile(script, []byte(out), 0o600); err != nil {
				t.Fatal(err)
			}
			if msg, err := exec.Command(shell, "-n", script).CombinedOutput(); err != nil {
				t.Fatalf("%s -n: %v\n%s", shell, err, msg)
			}
		})
	}
}
