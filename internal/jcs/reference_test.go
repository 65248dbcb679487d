package jcs_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/weftos/weftos/internal/jcs"
	"github.com/weftos/weftos/internal/jcs/jcstest"
)

func BenchmarkCanonicalizeReference(b *testing.B) {
	in := []byte(`{"pid":1234,"kind":"spawn","name":"agent-7","args":["--x","y"],"mem":1.5e9,"ok":true}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jcstest.Canonicalize(in); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzAgainstReference checks that the streaming canonicalizer gives the
// reference implementation's output, or an error of the same class.
func FuzzAgainstReference(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1e30,-0,0.1]`, `"\u20ac"`, `{"b":{"a":[true,false,null]}}`, `"\ud83d\ude00"`, `1E-7`,
		`{"b":1,"a":{"d":[{"z":1,"y":2}],"c":"x\ny"},"\u20ac":3,"\ud83d\ude00":4,"\ufb33":5}`, `{"a":1,"a":2}`, `{"a":{"b":1,"b":2}}`,
		`[{"x":"<&>"},"\/",-0.0,1e400]`, " {\"k\" : [ 1 , 2 ] } ", "\"\xff\"", `{"é":1,"e":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := jcs.Canonicalize(in)
		want, rerr := jcstest.Canonicalize(in)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("error %v, reference error %v, input %q", err, rerr, in)
		}
		if err != nil {
			for _, class := range []error{jcs.ErrDuplicateKey, jcs.ErrNumber, jcs.ErrInvalid} {
				if errors.Is(err, class) != errors.Is(rerr, class) {
					t.Fatalf("error %v, reference error %v, input %q", err, rerr, in)
				}
			}
			return
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("output %q, reference %q, input %q", got, want, in)
		}
	})
}
