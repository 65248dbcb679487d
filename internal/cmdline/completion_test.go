package cmdline

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Drivers run a completion script outside an interactive shell: they set
// the words being completed, call the completion function and print the
// candidates, one a line. The zsh driver stands in for the completion
// system's builtins, printing what they were given.
const (
	bashDriver = `source "$SCRIPT"
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
"$FUNC"
printf '%s\n' "${COMPREPLY[@]}"`
	zshDriver = `compdef() { :; }
_describe() { local arr=$4; print -l -- ${(P)arr}; }
compadd() { shift; print -l -- "$@"; }
_files() { print -- '<files>'; }
source "$SCRIPT"
words=("$@"); CURRENT=$#
"$FUNC"`
	fishDriver = `source "$SCRIPT"; complete -C"$CMDLINE"`
)

// complete returns the candidates shell offers for the last of words,
// with descriptions cut off and filtered by the word, sorted.
func complete(t *testing.T, shell, script, prog string, words []string) []string {
	t.Helper()
	var cmd *exec.Cmd
	switch shell {
	case "bash":
		cmd = exec.Command("bash", append([]string{"--norc", "--noprofile", "-c", bashDriver, "bash"}, words...)...)
		cmd.Env = append(os.Environ(), "FUNC=__"+prog)
	case "zsh":
		cmd = exec.Command("zsh", append([]string{"-f", "-c", zshDriver, "zsh"}, words...)...)
		cmd.Env = append(os.Environ(), "FUNC=_"+prog)
	case "fish":
		cmd = exec.Command("fish", "--no-config", "-c", fishDriver)
		cmd.Env = append(os.Environ(), "CMDLINE="+strings.Join(words, " "))
	}
	cmd.Env = append(cmd.Env, "SCRIPT="+script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("%s %q: %v\n%s", shell, words, err, stderr.String())
	}
	cur := words[len(words)-1]
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		cand, _, _ := strings.Cut(line, "\t")
		if shell == "zsh" && !strings.HasPrefix(cand, "-") {
			cand, _, _ = strings.Cut(cand, ":")
		}
		if cand != "" && (cand == "<files>" || strings.HasPrefix(cand, cur)) {
			got = append(got, cand)
		}
	}
	slices.Sort(got)
	return slices.Compact(got)
}

func shellOrSkip(t *testing.T, shell string) {
	if _, err := exec.LookPath(shell); err != nil {
		t.Skipf("%s is not installed", shell)
	}
}

func TestCompletionScripts(t *testing.T) {
	var ran []string
	p := testProgram(&ran)
	cases := []struct {
		words []string
		want  []string
	}{
		{[]string{"tp", "ch"}, []string{"chain"}},
		{[]string{"tp", ""}, []string{"chain", "completion", "help", "status", "version"}},
		{[]string{"tp", "chain", "t"}, []string{"tail"}},
		{[]string{"tp", "chain", "r"}, []string{"remove", "rm"}},
		{[]string{"tp", "chain", "tail", "--k"}, []string{"--kind"}},
		{[]string{"tp", "chain", "tail", "-n", "5", "--"}, []string{"--help", "--home", "--json", "--kind"}},
		{[]string{"tp", "chain", "rm", "x", "--"}, []string{"--help", "--home", "--json"}},
		{[]string{"tp", "--home", "chain", "chain", "s"}, []string{"show"}},
		{[]string{"tp", "completion", ""}, []string{"bash", "fish", "zsh"}},
		{[]string{"tp", "help", "c"}, []string{"chain", "completion"}},
		{[]string{"tp", "--v"}, []string{"--version"}},
	}
	for _, shell := range Shells {
		t.Run(shell, func(t *testing.T) {
			shellOrSkip(t, shell)
			var b bytes.Buffer
			if code := p.Run(t.Context(), []string{"completion", shell}, &b, os.Stderr); code != 0 {
				t.Fatalf("exit %d", code)
			}
			script := filepath.Join(t.TempDir(), "tp."+shell)
			if err := os.WriteFile(script, b.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			// Every command and flag is in it.
			for _, w := range []string{"status", "chain", "tail", "show", "remove", "rm", "fail", "misuse", "completion", "help", "version", "kind", "home", "json"} {
				if !strings.Contains(b.String(), w) {
					t.Errorf("the script lacks %q", w)
				}
			}
			check := exec.Command(shell, "-n", script)
			if out, err := check.CombinedOutput(); err != nil {
				t.Fatalf("%s -n: %v\n%s", shell, err, out)
			}
			for _, c := range cases {
				if got := complete(t, shell, script, "tp", c.words); !reflect.DeepEqual(got, c.want) {
					t.Errorf("%q: %q, want %q", c.words, got, c.want)
				}
			}
		})
	}
}

// TestCompletionFollowsTable: a command added to the table is in the
// scripts with nothing else to change.
func TestCompletionFollowsTable(t *testing.T) {
	var ran []string
	p := testProgram(&ran)
	p.Commands = append(p.Commands, &Command{Name: "brandnew", Summary: "x", Args: "FILE", MaxArgs: 1, Setup: func(fs *flag.FlagSet) Action {
		fs.String("zebra", "", "")
		return nil
	}})
	for _, shell := range Shells {
		var b bytes.Buffer
		if err := p.Completion(&b, shell); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "brandnew") || !strings.Contains(b.String(), "zebra") {
			t.Errorf("%s: the new command or its flag is missing", shell)
		}
	}
	if err := p.Completion(&bytes.Buffer{}, "csh"); err == nil {
		t.Fatal("csh accepted")
	}
}
