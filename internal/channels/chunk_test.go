package channels

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestChunk(t *testing.T) {
	long := strings.Repeat("word ", 2000)
	cases := []struct {
		name  string
		text  string
		limit int
		count func(string) int
		parts int
	}{
		{"empty", "", 10, nil, 0},
		{"fits", "hello", 10, nil, 1},
		{"words", long, 4096, nil, 3},
		{"no spaces", strings.Repeat("x", 4100), 2000, nil, 3},
		{"emoji utf16", strings.Repeat("😀", 3000), 4096, UTF16Len, 2},
		{"paragraphs", strings.Repeat("para graph\n\n", 500), 2000, nil, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Chunk(c.text, c.limit, c.count)
			if len(got) != c.parts {
				t.Fatalf("%d parts, want %d", len(got), c.parts)
			}
			checkChunks(t, c.text, got, c.limit, c.count)
		})
	}
}

func checkChunks(t *testing.T, text string, got []string, limit int, count func(string) int) {
	t.Helper()
	if count == nil {
		count = utf8.RuneCountInString
	}
	if strings.Join(got, "") != text {
		t.Fatal("chunks do not add up to the text")
	}
	for _, p := range got {
		if count(p) > limit || p == "" || !utf8.ValidString(p) && utf8.ValidString(text) {
			t.Fatalf("bad chunk of %d units (limit %d)", count(p), limit)
		}
	}
}

func FuzzChunk(f *testing.F) {
	f.Add("hello world", 3)
	f.Add("😀😀😀 x", 2)
	f.Add("a\n\nb\nc d", 1)
	f.Fuzz(func(t *testing.T, text string, limit int) {
		if limit < 4 || limit > 5000 { // a rune is at most 4 units
			return
		}
		for _, count := range []func(string) int{nil, UTF16Len, func(s string) int { return len(s) }} {
			checkChunks(t, text, Chunk(text, limit, count), limit, count)
		}
	})
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(60, 2)
	now := time.Unix(1000, 0)
	for i := range 2 {
		if ok, _ := l.Allow("a", now); !ok {
			t.Fatalf("burst event %d refused", i)
		}
	}
	ok, retry := l.Allow("a", now)
	if ok || retry != time.Second {
		t.Fatalf("over the burst: %v %v", ok, retry)
	}
	if ok, _ := l.Allow("b", now); !ok {
		t.Fatal("keys share a bucket")
	}
	if ok, _ := l.Allow("a", now.Add(time.Second)); !ok {
		t.Fatal("no refill")
	}
	l.Allow("c", now.Add(3*time.Minute)) // sweeps the refilled buckets
	if l.Len() != 1 {
		t.Fatalf("idle keys kept: %d", l.Len())
	}
}
