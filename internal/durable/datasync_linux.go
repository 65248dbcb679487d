//go:build linux

package durable

import (
	"errors"
	"os"
	"syscall"
)

// DataSync is fdatasync(2): f's data and the metadata needed to read it
// back (size, allocation), without timestamps. In a file whose blocks
// were written beforehand that is the data alone, with no file system
// journal commit.
func DataSync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if !errors.Is(serr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}
