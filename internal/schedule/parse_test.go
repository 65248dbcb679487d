package schedule

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/parse.golden from the current implementation")

// describe renders a parsed schedule with its expanded fields, so the golden
// file pins down exactly what each expression selects.
func describe(s Schedule) string {
	switch s := s.(type) {
	case *cron:
		mode := "or"
		if s.and {
			mode = "and"
		}
		return fmt.Sprintf("cron min=%s hour=%s dom=%s month=%s dow=%s days=%s never=%t string=%q",
			ranges(s.minute, 0, 59), ranges(s.hour, 0, 23), ranges(s.dom, 1, 31),
			ranges(s.month, 1, 12), ranges(s.dow, 0, 6), mode, s.never, s.String())
	case interval:
		return fmt.Sprintf("every %s string=%q", s.d, s.String())
	default:
		return fmt.Sprintf("unknown %T", s)
	}
}

// ranges formats the set bits of mask within [lo, hi] as "a-b,c", or "*"
// when all are set.
func ranges(mask uint64, lo, hi int) string {
	var parts []string
	all := true
	for v := lo; v <= hi; v++ {
		if mask&(1<<uint(v)) == 0 {
			all = false
			continue
		}
		end := v
		for end+1 <= hi && mask&(1<<uint(end+1)) != 0 {
			end++
		}
		if end > v {
			parts = append(parts, fmt.Sprintf("%d-%d", v, end))
		} else {
			parts = append(parts, fmt.Sprint(v))
		}
		v = end
	}
	if all {
		return "*"
	}
	if mask>>uint(hi+1) != 0 || (lo > 0 && mask&(1<<uint(lo)-1) != 0) {
		parts = append(parts, "STRAY-BITS")
	}
	return strings.Join(parts, ",")
}

func result(spec string) string {
	s, err := Parse(spec)
	if err != nil {
		return "error: " + err.Error()
	}
	return describe(s)
}

// TestParseGolden parses every "in:" line of testdata/parse.golden and
// compares the expansion or the exact error text with the "out:" line that
// follows. Run with -update to regenerate after an intended change, and
// review the diff.
func TestParseGolden(t *testing.T) {
	path := filepath.Join("testdata", "parse.golden")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out strings.Builder
	var spec string
	haveSpec := false
	sc := bufio.NewScanner(f)
	line := 0
	cases := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		switch {
		case strings.HasPrefix(text, "in: "):
			spec, haveSpec = strings.TrimPrefix(text, "in: "), true
			out.WriteString(text + "\n")
		case strings.HasPrefix(text, "out: "):
			if !haveSpec {
				t.Fatalf("%s:%d: out: without in:", path, line)
			}
			got := result(spec)
			if want := strings.TrimPrefix(text, "out: "); got != want && !*update {
				t.Errorf("%s:%d: Parse(%q)\n got: %s\nwant: %s", path, line, spec, got, want)
			}
			out.WriteString("out: " + got + "\n")
			haveSpec = false
			cases++
		default:
			out.WriteString(text + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cases < 50 {
		t.Fatalf("only %d cases in %s", cases, path)
	}
	if *update {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseErrorFields(t *testing.T) {
	tests := []struct {
		spec                string
		field, token, error string
	}{
		{"61 * * * *", FieldMinute, "61", `schedule: minute field "61": value 61 out of range 0-59`},
		{"* 24 * * *", FieldHour, "24", `schedule: hour field "24": value 24 out of range 0-23`},
		{"* * 0 * *", FieldDayOfMonth, "0", `schedule: day-of-month field "0": value 0 out of range 1-31`},
		{"* * * 1,FOO *", FieldMonth, "FOO", `schedule: month field "FOO": "FOO" is not a number or month name (JAN-DEC)`},
		{"* * * * 8", FieldDayOfWeek, "8", `schedule: day-of-week field "8": value 8 out of range 0-7`},
		{"*/0 * * * *", FieldMinute, "*/0", `schedule: minute field "*/0": step 0 out of range 1-60`},
		{"30-10 * * * *", FieldMinute, "30-10", `schedule: minute field "30-10": range start 30 is greater than range end 10`},
		{"* * * *", "", "* * * *", `schedule: "* * * *": expected 5 fields (minute hour day-of-month month day-of-week) or a macro, got 4`},
		{"@reboot", "", "@reboot", `schedule: "@reboot": unknown macro (want @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>)`},
		{"@every 500ms", FieldInterval, "500ms", `schedule: @every duration "500ms": interval 500ms is shorter than the minimum 1s`},
		{"", "", "", `schedule: "": empty specification`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s, err := Parse(tt.spec)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error", tt.spec, s)
			}
			if s != nil {
				t.Errorf("Parse(%q) returned a schedule with its error", tt.spec)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if pe.Spec != tt.spec || pe.Field != tt.field || pe.Token != tt.token {
				t.Errorf("ParseError{Spec: %q, Field: %q, Token: %q}, want {%q, %q, %q}",
					pe.Spec, pe.Field, pe.Token, tt.spec, tt.field, tt.token)
			}
			if err.Error() != tt.error {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.error)
			}
		})
	}
}

// TestParseEquivalents checks that alternative spellings select the same
// times (names vs numbers, 7 vs 0, macros vs expansions, case, spacing).
func TestParseEquivalents(t *testing.T) {
	groups := [][]string{
		{"0 0 * * 0", "0 0 * * 7", "0 0 * * sun", "0 0 * * SUN", "0 0 * * Sun", "@weekly", "@WEEKLY"},
		{"0 9 * * 1-5", "0 9 * * MON-FRI", "0 9 * * mon,tue,wed,thu,fri", "0 9 * * 1,2-4,fri"},
		{"0 0 * * 5-7", "0 0 * * FRI,SAT,SUN", "0 0 * * 0,5,6"},
		{"0 0 1 1 *", "@yearly", "@annually", "0 0 1 jan *", "  0\t0 1   1 *  "},
		{"0 0 * * *", "@daily", "@midnight", "0 0 1-31 * *"},
		{"0 0 1 * *", "@monthly"},
		{"0 * * * *", "@hourly", "0 0-23 * * *", "0 */1 * * *"},
		{"*/15 * * * *", "0,15,30,45 * * * *", "0-59/15 * * * *", "0/15 * * * *"},
		{"5/20 * * * *", "5,25,45 * * * *", "5-59/20 * * * *"},
		{"0 0 * 1/3 *", "0 0 * JAN,APR,JUL,OCT *", "0 0 * jan-dec/3 *"},
	}
	starts := []time.Time{
		time.Date(2024, 2, 27, 13, 7, 0, 0, time.UTC),
		time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC),
	}
	for _, group := range groups {
		ref := mustParse(t, group[0])
		for _, spec := range group[1:] {
			s := mustParse(t, spec)
			for _, start := range starts {
				a, b := start, start
				for range 20 {
					a, b = ref.Next(a), s.Next(b)
					if !a.Equal(b) {
						t.Fatalf("%q.Next = %v, %q.Next = %v (from %v)", group[0], a, spec, b, start)
					}
				}
			}
		}
	}
}

// TestStringRoundTrip checks that String is accepted by Parse and denotes the
// same schedule.
func TestStringRoundTrip(t *testing.T) {
	for _, spec := range []string{
		"*/5  9-17 * * mon-fri", "@daily", "@EVERY 90s", "0 0 29 2 *", "0 0 30 2 *", "1,2,3 4 5 6 7",
	} {
		s := mustParse(t, spec)
		again := mustParse(t, s.String())
		if describe(s) != describe(again) {
			t.Errorf("Parse(%q) = %s; Parse(String()) = %s", spec, describe(s), describe(again))
		}
	}
	if got := Interval(90 * time.Second).String(); got != "@every 1m30s" {
		t.Errorf("Interval(90s).String() = %q", got)
	}
}

func mustParse(tb testing.TB, spec string) Schedule {
	tb.Helper()
	s, err := Parse(spec)
	if err != nil {
		tb.Fatalf("Parse(%q): %v", spec, err)
	}
	return s
}
