package cmdline

import (
	"bytes"
	"errors"
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"
)

// source is a flag set of every kind, standing for code whose flag set
// is out of reach.
func source() (*flag.FlagSet, *bytes.Buffer) {
	var help bytes.Buffer
	fs := flag.NewFlagSet("src", flag.ContinueOnError)
	fs.SetOutput(&help)
	fs.Int("k", 10, "neighbours per query")
	fs.Int("threads", 0, "threads (0: all)")
	fs.Uint64("seed", 1, "seed")
	fs.Float64("sigma", 0.25, "std-dev")
	fs.Duration("timeout", time.Second, "how long")
	fs.String("ef", "10,20", "ef values")
	fs.String("out", "", "output `DIR`")
	fs.Bool("json", false, "print JSON")
	fs.Bool("v", false, "verbose")
	fs.String("multi", "", "first line\nsecond line")
	return fs, &help
}

func TestImportFlags(t *testing.T) {
	src, help := source()
	if err := src.Parse([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want []string // Args(); nil with usage
	}{
		{nil, nil},
		{[]string{"-k", "5", "--json", "-v", "--out", "/d", "--ef=1,2", "--timeout", "2s", "--sigma", "0.5", "--seed", "9", "--multi", "a b"},
			[]string{"-ef=1,2", "-json=true", "-k=5", "-multi=a b", "-out=/d", "-seed=9", "-sigma=0.5", "-timeout=2s", "-v=true"}},
		{[]string{"--threads", "0"}, []string{"-threads=0"}},
		{[]string{"-k", "-1"}, nil},
		{[]string{"-k", "x"}, nil},
		{[]string{"--seed", "-1"}, nil},
		{[]string{"--sigma", "x"}, nil},
		{[]string{"--timeout", "5"}, nil},
		{[]string{"--json=maybe"}, nil},
		{[]string{"--home", "/h"}, nil},
	}
	for _, c := range cases {
		fs := flag.NewFlagSet("dst", flag.ContinueOnError)
		im, err := ImportFlags(fs, help.String(), true)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse(fs, c.args, 0, 0)
		if len(c.args) > 0 && c.want == nil {
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Errorf("%q: err %v, want a usage error", c.args, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if got := im.Args(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: Args %q, want %q", c.args, got, c.want)
		}
		// What Args hands on parses in the source to what was given.
		src2, _ := source()
		if err := src2.Parse(im.Args()); err != nil {
			t.Fatalf("%q: the source rejects %q: %v", c.args, im.Args(), err)
		}
		fs.Visit(func(f *flag.Flag) {
			if got := src2.Lookup(f.Name).Value.String(); got != f.Value.String() && f.Value.String() != "true" {
				t.Errorf("%s: source has %q, import %q", f.Name, got, f.Value.String())
			}
		})
	}
}

func TestImportFlagsHelp(t *testing.T) {
	src, help := source()
	_ = src.Parse([]string{"-h"})
	fs := flag.NewFlagSet("dst", flag.ContinueOnError)
	if _, err := ImportFlags(fs, help.String(), false); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	writeFlags(&b, fs, nil)
	want := `  --ef string       ef values (default "10,20")
  --json            print JSON
  -k int            neighbours per query (default 10)
  --multi string    first line
                    second line
  --out DIR         output DIR
  --seed uint       seed (default 1)
  --sigma float     std-dev (default 0.25)
  --threads int     threads (0: all)
  --timeout duration  how long (default 1s)
  -v                verbose
`
	// tabwriter aligns each block of lines without a line break in a cell;
	// compare the flag lines' content rather than the exact padding.
	norm := func(s string) []string {
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
		return out
	}
	if got := norm(b.String()); !reflect.DeepEqual(got, norm(want)) {
		t.Fatalf("help:\n%s\nwant:\n%s", b.String(), want)
	}
	// Without counts a negative int is fine.
	if _, err := Parse(fs, []string{"-k", "-3"}, 0, 0); err != nil {
		t.Fatal(err)
	}
}

func TestImportFlagsRejects(t *testing.T) {
	for _, text := range []string{
		"",
		"Usage of x:\n",
		"  -k int\n    \tneighbours\nsomething else\n",
		"  -bad!\n    \tx\n",
		"  -k int\n    \tone\n  -k int\n    \ttwo\n",
	} {
		if _, err := ImportFlags(flag.NewFlagSet("x", flag.ContinueOnError), text, false); err == nil {
			t.Errorf("ImportFlags(%q) accepted it", text)
		}
	}
}

func TestCount(t *testing.T) {
	cases := []struct {
		arg  string
		want int
		ok   bool
	}{{"0", 0, true}, {"7", 7, true}, {"0x10", 16, true}, {"-1", 0, false}, {"1.5", 0, false}, {"", 0, false}}
	for _, c := range cases {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		n := Count(fs, "n", 3, "")
		_, err := Parse(fs, []string{"-n", c.arg}, 0, 0)
		if (err == nil) != c.ok || (c.ok && *n != c.want) {
			t.Errorf("-n %q: %d, %v", c.arg, *n, err)
		}
	}
}
