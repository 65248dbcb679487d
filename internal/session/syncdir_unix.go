//go:build !windows

package session

import "os"

// syncDir fsyncs a directory so entries created or renamed in it survive a
// power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
