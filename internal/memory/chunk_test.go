package memory_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/weftos/weftos/internal/memory"
)

var update = flag.Bool("update", false, "rewrite golden files")

const chunkSep = "\n----8<----\n"

func TestChunkGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "chunk", "*"))
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int{"markdown.md": 120, "longlines.txt": 60, "crlf.txt": 100, "code.go": 80}
	n := 0
	for _, in := range files {
		base := filepath.Base(in)
		if strings.HasSuffix(base, ".golden") {
			continue
		}
		size, ok := sizes[base]
		if !ok {
			t.Fatalf("no chunk size for %s", base)
		}
		n++
		t.Run(base, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			chunks := memory.Chunk(string(src), size)
			for _, c := range chunks {
				if utf8.RuneCountInString(c) > size {
					t.Errorf("chunk of %d runes > %d: %q", utf8.RuneCountInString(c), size, c)
				}
			}
			got := strings.Join(chunks, chunkSep) + "\n"
			golden := in + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("chunks differ from %s:\n%s", golden, got)
			}
		})
	}
	if n != len(sizes) {
		t.Fatalf("%d inputs, want %d", n, len(sizes))
	}
}

func TestChunkSmall(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want []string
	}{
		{"", 10, nil},
		{"   \n\n  ", 10, nil},
		{"one", 10, []string{"one"}},
		{"a\n\nb", 10, []string{"a\n\nb"}},
		{"aaaa\n\nbbbb", 8, []string{"aaaa", "bbbb"}},
		{"intro\n# H1\nbody", 100, []string{"intro", "# H1\n\nbody"}},
		{"#hashtag is not a heading\ntext", 100, []string{"#hashtag is not a heading\ntext"}},
		{"héllo wörld", 5, []string{"héllo", "wörld"}},
	}
	for _, tc := range tests {
		got := memory.Chunk(tc.in, tc.max)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("Chunk(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
	if got := memory.Chunk(strings.Repeat("word ", 1000), 0); len(got) != 4 {
		t.Errorf("default size: %d chunks", len(got))
	}
}

func nonSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func FuzzChunk(f *testing.F) {
	for _, s := range []string{"", "# a\nb\n\nc", "```\n\n```", "x\r\n\r\ny", strings.Repeat("ab ", 50), "\xff\xfe\n\n#"} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max > 1<<12 || max < -5 {
			return
		}
		chunks := memory.Chunk(s, max)
		limit := max
		if limit <= 0 {
			limit = memory.DefaultChunkChars
		}
		var all strings.Builder
		for _, c := range chunks {
			if strings.TrimSpace(c) == "" {
				t.Fatalf("empty chunk in %q", chunks)
			}
			if n := utf8.RuneCountInString(c); n > limit {
				t.Fatalf("chunk of %d runes > %d", n, limit)
			}
			all.WriteString(nonSpace(c)) // per chunk: joining raw chunks could fuse invalid UTF-8 bytes
		}
		// No content is lost, duplicated or reordered: only whitespace.
		if got, want := all.String(), nonSpace(strings.ReplaceAll(s, "\r\n", "\n")); got != want {
			t.Fatalf("content changed:\n got %q\nwant %q", got, want)
		}
	})
}
