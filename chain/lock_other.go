//go:build !unix && !windows

package chain

import (
	"fmt"
	"os"
)

// lockDir creates the lock file; without file locks (js, wasip1) two
// writers are not prevented.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("chain: lock: %w", err)
	}
	return f, nil
}
