//go:build !unix && !windows

package daemon

import (
	"errors"
	"os"
)

// lockFile on platforms without file locks (js, wasip1) creates the lock
// file exclusively; a crash leaves it behind and it must be removed by hand.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, errLocked
	}
	return f, err
}

func unlockFile(f *os.File) {
	name := f.Name()
	f.Close()
	_ = os.Remove(name)
}
