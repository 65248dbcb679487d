//go:build !unix && !windows

package filelock

import (
	"errors"
	"os"
)

// Lock creates path exclusively; a crash leaves it behind and it must be
// removed by hand.
func Lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, ErrLocked
	}
	return f, err
}

// Unlock closes and removes the lock file.
func Unlock(f *os.File) {
	name := f.Name()
	f.Close()
	_ = os.Remove(name)
}
