package clip

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	cases := []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 3, "hel"},
		{"hello", 0, ""},
		{"hello", -1, ""},
		{"héllo", 2, "h"}, // é is two bytes: not split
		{"héllo", 3, "hé"},
		{"日本語", 4, "日"},
		{"日本語", 6, "日本"},
		{"a😀b", 4, "a"},
		{"a😀b", 5, "a😀"},
	}
	for _, c := range cases {
		if got := String(c.s, c.n); got != c.want {
			t.Errorf("String(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
	if got := Ellipsis("日本語", 4); got != "日…" {
		t.Errorf("Ellipsis = %q", got)
	}
	if got := Ellipsis("short", 10); got != "short" {
		t.Errorf("Ellipsis of a short string = %q", got)
	}
}

// FuzzString: the result is a prefix of s, at most n bytes, valid UTF-8
// whenever s is, and as long as possible.
func FuzzString(f *testing.F) {
	f.Add("héllo wörld", 4)
	f.Add("日本語", 5)
	f.Add("\xff\xfe", 1)
	f.Fuzz(func(t *testing.T, s string, n int) {
		got := String(s, n)
		if !strings.HasPrefix(s, got) || (n >= 0 && len(got) > n) || (n < 0 && got != "") {
			t.Fatalf("String(%q, %d) = %q", s, n, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("String(%q, %d) = %q: not valid UTF-8", s, n, got)
		}
		if utf8.ValidString(s) && len(got) < n && len(got) < len(s) {
			_, size := utf8.DecodeRuneInString(s[len(got):])
			if len(got)+size <= n {
				t.Fatalf("String(%q, %d) = %q: the next character fits", s, n, got)
			}
		}
	})
}

func ExampleEllipsis() {
	fmt.Println(Ellipsis("naïve café", 9))
	fmt.Println(Ellipsis("naïve café", 3)) // "naï" would be 4 bytes
	// Output:
	// naïve ca…
	// na…
}
