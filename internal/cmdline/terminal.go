package cmdline

import (
	"fmt"
	"io"
	"strings"
)

// IsTerminal reports whether w is a terminal: progress bars, which redraw
// a line with \r, are drawn only there, never into a pipe, file or log.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && isTerminal(f)
}

// Progress is a progress bar redrawn in place on one line of w. It draws
// only when on (callers pass whether w is a terminal and output is not
// JSON); End ends the line if anything was drawn.
type Progress struct {
	w         io.Writer
	on, drawn bool
}

// NewProgress returns a bar on w, drawn only when on.
func NewProgress(w io.Writer, on bool) *Progress { return &Progress{w: w, on: on} }

// progressWidth is the bar's width in characters.
const progressWidth = 30

// Draw redraws the bar at done of total (nothing when total is not
// positive), followed by "done/total " and what.
func (p *Progress) Draw(done, total int, what string) {
	if !p.on || total <= 0 {
		return
	}
	n := progressWidth * min(max(done, 0), total) / total
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d %s", strings.Repeat("#", n), strings.Repeat(".", progressWidth-n), done, total, what)
	p.drawn = true
}

// End ends the bar's line if it was drawn.
func (p *Progress) End() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
