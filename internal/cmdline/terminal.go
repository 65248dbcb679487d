package cmdline

import "io"

// IsTerminal reports whether w is a terminal: progress bars, which redraw
// a line with \r, are drawn only there, never into a pipe, file or log.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && isTerminal(f)
}
