//go:build !windows && !js && !wasip1

package identity

import (
	"fmt"
	"os"
)

// checkPerm refuses key files that others can read or write.
func checkPerm(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o; run chmod 600 %s", ErrBadKey, path, st.Mode().Perm(), path)
	}
	return nil
}
