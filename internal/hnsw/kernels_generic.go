//go:build (!amd64 && !arm64) || purego

package hnsw

var (
	dotImpl = dotGo
	l2Impl  = l2Go
)

// kernelName reports which distance kernels are in use.
func kernelName() string { return "go" }
