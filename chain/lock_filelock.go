//go:build unix || windows

package chain

import (
	"errors"
	"fmt"
	"os"

	"github.com/weftos/weftos/internal/filelock"
)

// lockDir takes an exclusive lock so that two writers never share a store;
// closing the file releases it, and so does the writer's death.
func lockDir(path string) (*os.File, error) {
	f, err := filelock.Lock(path)
	if errors.Is(err, filelock.ErrLocked) {
		return nil, fmt.Errorf("chain: store %s is in use by another writer: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("chain: lock: %w", err)
	}
	return f, nil
}
