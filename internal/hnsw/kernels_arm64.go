//go:build arm64 && !purego

package hnsw

//go:noescape
func dotNEON(a, b *float32, n int) float32

//go:noescape
func l2NEON(a, b *float32, n int) float32

// Advanced SIMD (NEON) is part of the ARMv8-A baseline Go's arm64 port
// requires, so the assembly kernels are used unconditionally; build with
// -tags purego for the portable ones.
var (
	dotImpl = dotAsm
	l2Impl  = l2Asm
)

func dotAsm(a, b []float32) float32 {
	if len(a) == 0 {
		return 0
	}
	_ = b[len(a)-1]
	return dotNEON(&a[0], &b[0], len(a))
}

func l2Asm(a, b []float32) float32 {
	if len(a) == 0 {
		return 0
	}
	_ = b[len(a)-1]
	return l2NEON(&a[0], &b[0], len(a))
}

// kernelName reports which distance kernels are in use.
func kernelName() string { return "neon" }
