// Package durable writes files so that they survive a crash: WriteFile
// replaces a file's content so that a crash leaves either the old or the
// new content, never a mix, and DataSync flushes a file's data with the
// least metadata work the system allows (fdatasync where there is one).
package durable

import (
	"os"
	"path/filepath"
)

// WriteFile writes data to path (mode 0600; the directory is created
// 0700 when missing) through a synced temporary file in the same
// directory, renamed into place.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename: nothing to remove
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
