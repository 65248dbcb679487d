package session

import (
	"errors"
	"os"

	"github.com/weftos/weftos/internal/filelock"
)

// lockFile takes the session's exclusive lock without blocking.
func lockFile(path string) (*os.File, error) {
	f, err := filelock.Lock(path)
	if errors.Is(err, filelock.ErrLocked) {
		return nil, ErrLocked
	}
	return f, err
}

func unlockFile(f *os.File) { filelock.Unlock(f) }
