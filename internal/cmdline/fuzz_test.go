package cmdline

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzImportFlags(f *testing.F) {
	src, help := source()
	_ = src.Parse([]string{"-h"})
	f.Add(help.String(), "-k=3")
	f.Add("  -x\tbool\n  -y float\n    \ty (default 1.5)\n", "-y=2")
	f.Add("Usage of z:\n  -s string\n    \ts (default \"a\\\"b\")\n", "--s")
	f.Fuzz(func(t *testing.T, text, arg string) {
		fs := flag.NewFlagSet("f", flag.ContinueOnError)
		im, err := ImportFlags(fs, text, true)
		if err != nil {
			return
		}
		if _, err := Parse(fs, nil, 0, 0); err != nil || len(im.Args()) != 0 {
			t.Fatalf("no arguments: %v %q", err, im.Args())
		}
		if _, err := Parse(fs, []string{arg}, 0, -1); err == nil {
			// What was accepted is handed on as -name=value and accepted again.
			again := flag.NewFlagSet("g", flag.ContinueOnError)
			if _, err := ImportFlags(again, text, true); err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(again, im.Args(), 0, 0); err != nil {
				t.Fatalf("Args %q rejected: %v", im.Args(), err)
			}
		}
	})
}

func FuzzDistance(f *testing.F) {
	f.Add("chian", "chain")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, a, b string) {
		d := Distance(a, b)
		la, lb := utf8.RuneCountInString(strings.ToLower(a)), utf8.RuneCountInString(strings.ToLower(b))
		if d != Distance(b, a) || d < max(la, lb)-min(la, lb) || d > max(la, lb) || Distance(a, a) != 0 {
			t.Fatalf("Distance(%q, %q) = %d", a, b, d)
		}
	})
}

// FuzzRun: any command line gets an exit code of 0, 1 or 2 and, on a
// usage error, at most two lines on stderr.
func FuzzRun(f *testing.F) {
	for _, s := range []string{"chain\x00tail\x00-n\x00-1", "help\x00chain\x00x", "chain\x00--home", "stauts", "chain\x00--\x00show", "completion\x00zsh"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		var ran []string
		var out, errb bytes.Buffer
		code := testProgram(&ran).Run(context.Background(), args, &out, &errb)
		switch {
		case code == ExitUsage && strings.Count(errb.String(), "\n") > 2,
			code == ExitError && strings.Count(errb.String(), "\n") != 1,
			code == ExitOK && errb.Len() != 0,
			code != ExitOK && code != ExitError && code != ExitUsage:
			t.Fatalf("%q: exit %d, stderr %q", args, code, errb.String())
		}
	})
}
