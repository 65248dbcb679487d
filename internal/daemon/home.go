package daemon

import (
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

// secureHome makes sure nobody but its owner can enter the home: keys, the
// chain and the API socket live there. A home created by an earlier tool
// or by hand with group or world access is tightened to 0700; when that is
// not possible (another user owns it) the daemon refuses to start. It
// returns the old mode when it changed one, so the caller can log it.
func secureHome(home string) (tightened fs.FileMode, err error) {
	if runtime.GOOS == "windows" || runtime.GOOS == "js" {
		return 0, nil // no Unix permission bits; the profile's ACLs apply
	}
	fi, err := os.Stat(home)
	if err != nil {
		return 0, fmt.Errorf("daemon: home: %w", err)
	}
	if !fi.IsDir() {
		return 0, fmt.Errorf("daemon: home %s is not a directory", home)
	}
	perm := fi.Mode().Perm()
	if perm&0o077 == 0 {
		return 0, nil
	}
	if err := os.Chmod(home, perm&^0o077); err != nil {
		return 0, fmt.Errorf("daemon: home %s is mode %04o, open to other users, and could not be made private: %w (fix it with: chmod 700 %s)", home, perm, err, home)
	}
	return perm, nil
}
