//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package cmdline

import "os"

// isTerminal falls back to the file's mode where there is no termios to
// ask: a character device (a console, but also a null device).
func isTerminal(f interface{ Fd() uintptr }) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
