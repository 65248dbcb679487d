package cmdline

import (
	"bytes"
	"errors"
	"flag"
	"reflect"
	"testing"
)

type codeErr struct{}

func (codeErr) Error() string { return "no provider\nset OPENAI_API_KEY" }
func (codeErr) ExitCode() int { return 2 }

func TestParse(t *testing.T) {
	cases := []struct {
		args     []string
		pos      []string
		json     bool
		min, max int
		usage    bool
	}{
		{[]string{"a", "--json", "b"}, []string{"a", "b"}, true, 0, -1, false},
		{[]string{"--json", "a"}, []string{"a"}, true, 1, 1, false},
		{[]string{"a", "--", "--json"}, []string{"a", "--json"}, false, 0, -1, false},
		{[]string{"a", "b"}, nil, false, 1, 1, true},
		{[]string{"--bogus"}, nil, false, 0, 0, true},
		{[]string{"-h"}, nil, false, 0, 0, false},
	}
	for _, c := range cases {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		var printed bytes.Buffer
		fs.SetOutput(&printed)
		fs.Usage = func() { printed.WriteString("usage") }
		j := fs.Bool("json", false, "")
		pos, err := Parse(fs, c.args, c.min, c.max)
		var ue *UsageError
		if c.usage != errors.As(err, &ue) {
			t.Fatalf("%v: err %v", c.args, err)
		}
		// The error is the only report: nothing printed besides.
		if printed.Len() > 0 {
			t.Fatalf("%v: Parse printed %q", c.args, printed.String())
		}
		if len(c.args) == 1 && c.args[0] == "-h" {
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("-h: %v", err)
			}
			continue
		}
		if !c.usage && (!reflect.DeepEqual(pos, c.pos) || *j != c.json) {
			t.Fatalf("%v: pos %v json %v", c.args, pos, *j)
		}
	}
}

func TestReport(t *testing.T) {
	var b bytes.Buffer
	if Report(&b, "weft", codeErr{}) != 2 || b.String() != "weft: no provider; set OPENAI_API_KEY\n" {
		t.Fatalf("report %q", b.String())
	}
	b.Reset()
	if Report(&b, "weft", &UsageError{Msg: "x: bad", Hint: "run 'weft x --help' for usage"}) != ExitUsage || b.String() != "weft: x: bad\nrun 'weft x --help' for usage\n" {
		t.Fatalf("usage report %q", b.String())
	}
	b.Reset()
	if Report(&b, "weft", Usagef("bad")) != ExitUsage || Report(&b, "weft", errors.New("x")) != ExitError || Report(&b, "weft", nil) != ExitOK {
		t.Fatal("exit codes")
	}
}

func TestReply(t *testing.T) {
	type result struct {
		ID   string `json:"id"`
		Runs int    `json:"runs"`
	}
	for _, tc := range []struct {
		name   string
		asJSON bool
		want   string
	}{
		{"text", false, "job-1: 3 runs\n"},
		{"json", true, "{\n  \"id\": \"job-1\",\n  \"runs\": 3\n}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			r := result{ID: "job-1", Runs: 3}
			if err := Reply(&buf, tc.asJSON, r, "%s: %d runs\n", r.ID, r.Runs); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Fatalf("got %q, want %q", buf.String(), tc.want)
			}
		})
	}
}

func TestProgress(t *testing.T) {
	for _, tc := range []struct {
		name        string
		on          bool
		done, total int
		want        string
	}{
		{"half", true, 1, 2, "\r[###############...............] 1/2 files\n"},
		{"done", true, 3, 3, "\r[##############################] 3/3 files\n"},
		{"past the total", true, 5, 3, "\r[##############################] 5/3 files\n"},
		{"no total yet", true, 0, 0, ""},
		{"off (not a terminal)", false, 1, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := NewProgress(&buf, tc.on)
			p.Draw(tc.done, tc.total, "files")
			p.End()
			p.End() // a second End adds nothing
			if buf.String() != tc.want {
				t.Fatalf("got %q, want %q", buf.String(), tc.want)
			}
		})
	}
}
