package governance

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
)

func TestParseEffect(t *testing.T) {
	tests := []struct {
		in   string
		want Effect
		err  bool
	}{
		{"", Effect{}, false},
		{"risk=0.8,privacy=0.2", Effect{Risk: 0.8, Privacy: 0.2}, false},
		{" risk = 1 , fairness=0, privacy=0.5,novelty=0.25,security=0 ", Effect{Risk: 1, Privacy: 0.5, Novelty: 0.25}, false},
		{"security=1e-1", Effect{Security: 0.1}, false},
		{"risk=1.1", Effect{}, true},
		{"risk=-0.1", Effect{}, true},
		{"risk=NaN", Effect{}, true},
		{"risk=Inf", Effect{}, true},
		{"danger=0.1", Effect{}, true},
		{"risk", Effect{}, true},
		{"risk=0.1,risk=0.2", Effect{}, true},
		{"risk=abc", Effect{}, true},
		{"risk=0.1,", Effect{}, true},
	}
	for _, tc := range tests {
		got, err := ParseEffect(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("%q: err %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err != nil && !errors.Is(err, ErrInvalidEffect) {
			t.Errorf("%q: %v is not ErrInvalidEffect", tc.in, err)
		}
		if got != tc.want {
			t.Errorf("%q: got %+v want %+v", tc.in, got, tc.want)
		}
	}
}

func TestMagnitude(t *testing.T) {
	tests := []struct {
		e    Effect
		want float64
	}{
		{Effect{}, 0},
		{Effect{Risk: 1, Fairness: 1, Privacy: 1, Novelty: 1, Security: 1}, 1},
		{Effect{Risk: 1}, 1 / math.Sqrt(5)},
		{Effect{Risk: 0.6, Security: 0.8}, 1 / math.Sqrt(5)},
		{Effect{Risk: 0.5, Fairness: 0.5, Privacy: 0.5, Novelty: 0.5, Security: 0.5}, 0.5},
	}
	for _, tc := range tests {
		if got := tc.e.Magnitude(); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%v: %v want %v", tc.e, got, tc.want)
		}
	}
}

func TestEffectOps(t *testing.T) {
	e := Effect{Risk: 0.3, Security: 0.9}
	if got := e.Add(Effect{Risk: 0.4, Security: 0.4}); got != (Effect{Risk: 0.7, Security: 1}) {
		t.Fatalf("Add: %+v", got)
	}
	if got := e.Max(Effect{Risk: 0.5, Privacy: 0.1}); got != (Effect{Risk: 0.5, Privacy: 0.1, Security: 0.9}) {
		t.Fatalf("Max: %+v", got)
	}
	if got := (Effect{Risk: math.NaN(), Privacy: -1, Novelty: 0.1234567}).Normalize(); got != (Effect{Risk: 1, Novelty: 0.123457}) {
		t.Fatalf("Normalize: %+v", got)
	}
	if (Effect{Risk: 2}).Validate() == nil || (Effect{Novelty: math.NaN()}).Validate() == nil || (Effect{Risk: 1}).Validate() != nil {
		t.Fatal("Validate")
	}
	back, err := ParseEffect(Effect{Risk: 0.8, Privacy: 0.2, Security: 0.125}.String())
	if err != nil || back != (Effect{Risk: 0.8, Privacy: 0.2, Security: 0.125}) {
		t.Fatalf("String round trip: %+v %v", back, err)
	}
	if DimSecurity.String() != "security" || Dimension(9).String() == "" {
		t.Fatal("Dimension.String")
	}
}

func FuzzParseEffect(f *testing.F) {
	for _, s := range []string{"", "risk=0.8,privacy=0.2", "novelty=1,security=0", "risk=1e-3", "x=1", "risk=0.1,risk=0.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEffect(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidEffect) {
				t.Fatalf("error not wrapped: %v", err)
			}
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("parsed invalid effect %+v: %v", e, err)
		}
		if m := e.Magnitude(); m < 0 || m > 1 {
			t.Fatalf("magnitude %v", m)
		}
		back, err := ParseEffect(e.String())
		if err != nil || back != e {
			t.Fatalf("round trip %+v -> %q -> %+v %v", e, e.String(), back, err)
		}
	})
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"a.b", "a.b", true}, {"a.b", "a.bc", false},
		{"*", "", true}, {"**", "x", true},
		{"a.*", "a.b.c", true}, {"a.*", "a", false},
		{"*.c", "a.b.c", true}, {"*.c", "a.b.d", false},
		{"*mid*", "xmidy", true}, {"*mid*", "xmdy", false},
		{"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false}, {"a*b*c", "abcabc", true},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"?", "", false},
		{"*?", "a", true}, {"*a?b*", "xxaxbyy", true}, {"*a?b", "ab", false},
		{"/home/*/.ssh/*", "/home/u/.ssh/id", true},
	}
	for _, tc := range tests {
		g, err := compileGlob(tc.pat)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.match(tc.s); got != tc.want {
			t.Errorf("%q ~ %q = %v want %v", tc.pat, tc.s, got, tc.want)
		}
		if got := wildMatch(tc.pat, tc.s); got != tc.want {
			t.Errorf("wildMatch %q ~ %q = %v want %v", tc.pat, tc.s, got, tc.want)
		}
	}
	if _, err := compileGlob(""); err == nil {
		t.Fatal("empty glob accepted")
	}
	if _, err := compileGlob("a\x00"); err == nil {
		t.Fatal("NUL accepted")
	}
}

// FuzzGlob checks the matcher against a regexp translation of the pattern.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{{"a*b?c", "axxbyc"}, {"*", ""}, {"tool.*", "tool.x"}, {"*a*a*a*", "aaaa"}, {"?*?", "ab"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, s string) {
		g, err := compileGlob(pat)
		if err != nil {
			return
		}
		var re strings.Builder
		re.WriteString(`(?s)^`)
		for i := 0; i < len(pat); i++ {
			switch pat[i] {
			case '*':
				re.WriteString(`.*`)
			case '?':
				re.WriteString(`.`)
			default:
				re.WriteString(regexp.QuoteMeta(pat[i : i+1]))
			}
		}
		re.WriteString(`$`)
		// Compare on bytes: regexp '.' matches a byte when the input is
		// treated as Latin-1, so restrict to ASCII inputs.
		for i := 0; i < len(pat); i++ {
			if pat[i] >= 0x80 {
				return
			}
		}
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return
			}
		}
		want := regexp.MustCompile(re.String()).MatchString(s)
		if got := g.match(s); got != want {
			t.Fatalf("%q ~ %q = %v, regexp says %v", pat, s, got, want)
		}
	})
}
