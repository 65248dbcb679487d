//go:build amd64 && !purego

package hnsw

import "golang.org/x/sys/cpu"

//go:noescape
func dotAVX2(a, b *float32, n int) float32

//go:noescape
func l2AVX2(a, b *float32, n int) float32

var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

var (
	dotImpl = dotGo
	l2Impl  = l2Go
)

func init() {
	if useAVX2 {
		dotImpl = dotAsm
		l2Impl = l2Asm
	}
}

func dotAsm(a, b []float32) float32 {
	if len(a) == 0 {
		return 0
	}
	_ = b[len(a)-1]
	return dotAVX2(&a[0], &b[0], len(a))
}

func l2Asm(a, b []float32) float32 {
	if len(a) == 0 {
		return 0
	}
	_ = b[len(a)-1]
	return l2AVX2(&a[0], &b[0], len(a))
}

// kernelName reports which distance kernels are in use.
func kernelName() string {
	if useAVX2 {
		return "avx2+fma"
	}
	return "go"
}
