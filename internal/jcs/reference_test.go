package jcs_test

import (
	"bytes"
	"errors"
	"math"
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

// FuzzAppendNumber compares AppendNumber with the reference's, on the
// fuzzed double and around the bounds of ECMAScript's fixed notation.
func FuzzAppendNumber(f *testing.F) {
	for _, x := range []float64{0, 1, 0.1, 1e-6, 1e-7, 9.999999999999999e-7, 1e21, 1e20, 999999999999999900000, 5e-324, math.MaxFloat64,
		0.08944271909999159, 123456789012345680000, 1.5e300, -0.0, math.Inf(1), math.NaN()} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		for _, v := range []float64{x, -x, math.Nextafter(x, 0), math.Nextafter(x, math.Inf(1)), math.Float64frombits(math.Float64bits(x) >> 12)} {
			got, err := jcs.AppendNumber(nil, v)
			want, rerr := jcstest.AppendNumber(nil, v)
			if (err == nil) != (rerr == nil) || !bytes.Equal(got, want) {
				t.Fatalf("AppendNumber(%v) = %s, %v; reference %s, %v", v, got, err, want, rerr)
			}
		}
	})
}

// TestAppendNumberBounds walks the doubles next to the bounds of fixed
// notation, 1e-6 and 1e21, comparing with the reference.
func TestAppendNumberBounds(t *testing.T) {
	for _, bound := range []float64{1e-6, 1e-5, 1e20, 1e21} {
		lo, hi := bound, bound
		for range 1000 {
			lo, hi = math.Nextafter(lo, 0), math.Nextafter(hi, math.Inf(1))
			for _, v := range []float64{lo, hi} {
				got, _ := jcs.AppendNumber(nil, v)
				want, _ := jcstest.AppendNumber(nil, v)
				if !bytes.Equal(got, want) {
					t.Fatalf("AppendNumber(%v) = %s; reference %s", v, got, want)
				}
			}
		}
	}
}
