package hnsw

import (
	"math"
	"math/rand/v2"
	"testing"
)

func naiveDot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func naiveL2(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s
}

// TestKernelsAgree checks the dispatched kernels (assembly where available)
// and the portable fallback against a float64 reference on many lengths,
// including 0 and lengths that are not multiples of 8, 16 or 32.
func TestKernelsAgree(t *testing.T) {
	t.Logf("kernels: %s", kernelName())
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257, 384, 768, 1000, 1536}
	for _, n := range lengths {
		for trial := 0; trial < 20; trial++ {
			a := make([]float32, n)
			b := make([]float32, n+3) // longer b: only len(a) is read
			var absDot, absL2 float64
			for i := range a {
				a[i] = float32(rng.NormFloat64() * 3)
				b[i] = float32(rng.NormFloat64() * 3)
				absDot += math.Abs(float64(a[i]) * float64(b[i]))
				d := float64(a[i]) - float64(b[i])
				absL2 += d * d
			}
			wantDot, wantL2 := naiveDot(a, b), naiveL2(a, b)
			tol := func(mag float64) float64 { return 1e-5*mag + 1e-6 }
			cases := []struct {
				name string
				got  float32
				want float64
				mag  float64
			}{
				{"DotProduct", DotProduct(a, b), wantDot, absDot},
				{"dotGo", dotGo(a, b), wantDot, absDot},
				{"L2Squared", L2Squared(a, b), wantL2, absL2},
				{"l2Go", l2Go(a, b), wantL2, absL2},
			}
			for _, c := range cases {
				if math.Abs(float64(c.got)-c.want) > tol(c.mag) {
					t.Fatalf("%s n=%d: got %v want %v", c.name, n, c.got, c.want)
				}
			}
			if d := math.Abs(float64(DotProduct(a, b) - dotGo(a, b))); d > tol(absDot) {
				t.Fatalf("dispatch vs fallback dot differ by %v at n=%d", d, n)
			}
			if d := math.Abs(float64(L2Squared(a, b) - l2Go(a, b))); d > tol(absL2) {
				t.Fatalf("dispatch vs fallback l2 differ by %v at n=%d", d, n)
			}
		}
	}
}

func TestKernelsShortB(t *testing.T) {
	a := []float32{1, 2, 3}
	b := []float32{1, 1}
	if got := DotProduct(a, b); got != 3 {
		t.Fatalf("DotProduct with short b = %v, want 3", got)
	}
	if got := L2Squared(a, b); got != 1 {
		t.Fatalf("L2Squared with short b = %v, want 1", got)
	}
}

func benchKernel(b *testing.B, f func(a, b []float32) float32, n int) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, n)
	y := make([]float32, n)
	for i := range x {
		x[i] = rng.Float32()
		y[i] = rng.Float32()
	}
	b.SetBytes(int64(8 * n))
	var s float32
	for b.Loop() {
		s += f(x, y)
	}
	_ = s
}

func BenchmarkL2Squared128(b *testing.B) { benchKernel(b, L2Squared, 128) }
func BenchmarkL2Go128(b *testing.B)      { benchKernel(b, l2Go, 128) }
func BenchmarkDot384(b *testing.B)       { benchKernel(b, DotProduct, 384) }
func BenchmarkDotGo384(b *testing.B)     { benchKernel(b, dotGo, 384) }

// FuzzKernels checks the dispatched kernels (NEON on arm64, AVX2 on amd64)
// against the portable ones and a float64 reference on arbitrary vectors
// built from the fuzzer's bytes, including every tail length.
func FuzzKernels(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	f.Add([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), uint8(3))
	f.Add(make([]byte, 4*67), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, shift uint8) {
		// At most 256 components keep every partial sum below 2^24.
		n := min(len(data)/2, 256)
		a := make([]float32, n)
		b := make([]float32, n)
		for i := range n {
			// Small integers scaled by a power of two: exact in float32, so
			// the sums below are exact whatever the order of additions,
			// unless they overflow 2^24 — kept out by the scale.
			a[i] = float32(int8(data[i])) / float32(int(1)<<(shift%8))
			b[i] = float32(int8(data[n+i])) / float32(int(1)<<(shift%8))
		}
		wantDot, wantL2 := naiveDot(a, b), naiveL2(a, b)
		for _, c := range []struct {
			name string
			got  float32
			want float64
		}{
			{"DotProduct", DotProduct(a, b), wantDot},
			{"dotGo", dotGo(a, b), wantDot},
			{"L2Squared", L2Squared(a, b), wantL2},
			{"l2Go", l2Go(a, b), wantL2},
		} {
			if float64(c.got) != c.want {
				t.Fatalf("%s n=%d: got %v, want exactly %v", c.name, n, c.got, c.want)
			}
		}
	})
}
