//go:build unix

package chain

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock so that two writers never share a
// store.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("chain: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("chain: store %s is in use by another writer: %w", path, err)
	}
	return f, nil
}
