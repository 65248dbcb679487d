//go:build !linux

package session

import "os"

// dataSync flushes f to stable storage (fsync; fdatasync where it exists).
func dataSync(f *os.File) error { return f.Sync() }
