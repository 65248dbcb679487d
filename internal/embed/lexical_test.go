package embed_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/embed"
)

func cosine(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func norm(v []float32) float64 { return math.Sqrt(cosine(v, v)) }

func mustLexical(t testing.TB, dim int) *embed.Lexical {
	t.Helper()
	l, err := embed.NewLexical(dim)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLexicalNameAndDim(t *testing.T) {
	l := mustLexical(t, 0)
	if l.Name() != "lexical-v1/384" || l.Dim() != 384 {
		t.Fatalf("got %q %d", l.Name(), l.Dim())
	}
	l = mustLexical(t, 64)
	if l.Name() != "lexical-v1/64" {
		t.Fatalf("got %q", l.Name())
	}
	for _, d := range []int{-1, 8, 1<<16 + 1} {
		if _, err := embed.NewLexical(d); !errors.Is(err, embed.ErrConfig) {
			t.Errorf("dim %d: err %v", d, err)
		}
	}
}

func TestLexicalUnitNormAndZero(t *testing.T) {
	l := mustLexical(t, 0)
	vs, err := l.Embed(context.Background(), []string{"Hello, world", "", "  !!! ---", "the", "naïve café 東京"})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1, 0, 0, 1, 1}
	for i, v := range vs {
		if len(v) != 384 {
			t.Fatalf("%d: len %d", i, len(v))
		}
		if n := norm(v); math.Abs(n-want[i]) > 1e-5 {
			t.Errorf("%d: norm %v want %v", i, n, want[i])
		}
	}
}

func TestLexicalDeterministic(t *testing.T) {
	l := mustLexical(t, 0)
	text := "Caroline went to the LGBTQ support group on 7 May 2023 and loved it."
	a := l.Vector(text)
	for range 20 {
		b := l.Vector(text)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("component %d differs: %v vs %v", i, a[i], b[i])
			}
		}
	}
}

var update = flag.Bool("update", false, "rewrite golden files")

// TestLexicalGolden pins the exact output of lexical-v1: a change here
// changes every stored lexical-v1 vector and must come with a new name.
func TestLexicalGolden(t *testing.T) {
	l := mustLexical(t, 0)
	texts := []string{"", "Hello, world", "Caroline went to the LGBTQ support group on 7 May 2023.",
		"naïve café 東京", "func main() { fmt.Println(\"hi\") }"}
	var b strings.Builder
	for _, text := range texts {
		v := l.Vector(text)
		h := sha256.New()
		for _, x := range v {
			_ = binary.Write(h, binary.LittleEndian, math.Float32bits(x))
		}
		fmt.Fprintf(&b, "%q %x\n", text, h.Sum(nil)[:12])
	}
	path := filepath.Join("testdata", "lexical-v1.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("lexical-v1 output changed:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestLexicalSimilarityOrdering(t *testing.T) {
	l := mustLexical(t, 0)
	q := l.Vector("When did Caroline go to the support group?")
	tests := []struct {
		near, far string
	}{
		{"Caroline: I went to a LGBTQ support group yesterday", "Melanie: I painted a sunrise by the lake"},
		{"supporting groups of people", "a cat sat on the mat"},
	}
	for _, tc := range tests {
		if n, f := cosine(q, l.Vector(tc.near)), cosine(q, l.Vector(tc.far)); n <= f {
			t.Errorf("%q (%v) not closer than %q (%v)", tc.near, n, tc.far, f)
		}
	}
	a := l.Vector("running runner runs")
	b := l.Vector("he was running")
	c := l.Vector("quantum chromodynamics")
	if cosine(a, b) <= cosine(a, c) {
		t.Errorf("shared word not closer: %v <= %v", cosine(a, b), cosine(a, c))
	}
	// stop words alone do not make texts similar
	if s := cosine(l.Vector("what is the thing about the"), l.Vector("the dog is at the park")); s > 0.5 {
		t.Errorf("stop-word-only overlap too similar: %v", s)
	}
	// inflections share character grams
	if s := cosine(l.Vector("painting"), l.Vector("paintings")); s < 0.3 {
		t.Errorf("inflection similarity %v < 0.3", s)
	}
	if s := cosine(l.Vector("same text"), l.Vector("Same   TEXT!")); math.Abs(s-1) > 1e-6 {
		t.Errorf("case/punctuation changed the vector: %v", s)
	}
}

func TestLexicalContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := mustLexical(t, 0).Embed(ctx, []string{"x"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

func FuzzLexical(f *testing.F) {
	for _, s := range []string{"", "hello world", "a", "\xff\xfe", "日本語のテキスト", "x\u0301y", "the the the"} {
		f.Add(s)
	}
	l := mustLexical(f, 64)
	f.Fuzz(func(t *testing.T, s string) {
		v := l.Vector(s)
		if len(v) != 64 {
			t.Fatalf("len %d", len(v))
		}
		var sum float64
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("non-finite %v", x)
			}
			sum += float64(x) * float64(x)
		}
		if sum != 0 && math.Abs(math.Sqrt(sum)-1) > 1e-4 {
			t.Fatalf("norm %v", math.Sqrt(sum))
		}
	})
}

func BenchmarkLexical(b *testing.B) {
	l := mustLexical(b, 0)
	text := "Hey Caroline! Good to see you! I'm swamped with the kids & work. What's up with you? Anything new? " +
		"I went to a LGBTQ support group yesterday and it was so powerful."
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		l.Vector(text)
	}
}
