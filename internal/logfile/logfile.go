// Package logfile keeps the daemon's own log in a file in the home: a
// size-capped file with numbered rotations (weave.log, weave.log.1, …),
// read back by `weave logs` — its last lines from the files, new lines as
// they are written from an in-memory window, so a follower never touches
// files that rotate under it. Nothing is dropped silently: a write that
// fails is counted (and still reaches followers and the daemon's stderr),
// and a follower that falls more than the window behind is told how many
// bytes it missed.
package logfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
)

// Defaults for Options.
const (
	DefaultMaxBytes = 10 << 20
	DefaultKeep     = 3
	// MaxKeep bounds Options.Keep.
	MaxKeep = 100
	// FollowWindow is how far (in bytes) a follower may fall behind the
	// writer before it misses lines.
	FollowWindow = 1 << 20
	// MaxTail bounds the lines Tail returns.
	MaxTail = 100_000
)

// ErrClosed is returned by a File that has been closed.
var ErrClosed = errors.New("logfile: closed")

// Options configure a File.
type Options struct {
	// MaxBytes is the size at which the file is rotated (default 10 MiB).
	// A single entry larger than that is still written whole.
	MaxBytes int64
	// Keep is how many rotated files are kept: path.1 (the newest) …
	// path.Keep; the oldest is replaced at rotation. Default 3, at most
	// MaxKeep.
	Keep int
}

// File is an append-only, size-capped log file. It is safe for concurrent
// use; each Write should be one or more whole lines (slog handlers write
// one record per call), so rotation never splits a line.
type File struct {
	path string
	opts Options

	mu      sync.Mutex
	f       *os.File // nil after a failed rotation until a reopen succeeds
	size    int64    // bytes in the current file
	pos     int64    // bytes written since Open: follow positions
	ring    []byte   // the last FollowWindow bytes written, circular
	wake    chan struct{}
	closed  bool
	lastErr error

	errs atomic.Uint64
}

// Open opens (creating, mode 0600) the log file at path for appending.
func Open(path string, opts Options) (*File, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Keep == 0 {
		opts.Keep = DefaultKeep
	}
	if opts.Keep < 0 || opts.Keep > MaxKeep {
		return nil, fmt.Errorf("logfile: keep %d outside 1..%d", opts.Keep, MaxKeep)
	}
	f, size, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	return &File{path: path, opts: opts, f: f, size: size, ring: make([]byte, FollowWindow), wake: make(chan struct{})}, nil
}

func openAppend(path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("logfile: %w", err)
	}
	_ = f.Chmod(0o600) // a file left by an older version may be wider
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("logfile: %w", err)
	}
	return f, st.Size(), nil
}

// Path returns the current file's path.
func (l *File) Path() string { return l.path }

// Errors returns how many writes or rotations failed, and the last error.
func (l *File) Errors() (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.errs.Load(), l.lastErr
}

func (l *File) fail(err error) {
	l.errs.Add(1)
	l.lastErr = err
}

// Write appends p, rotating first if p would take the file past MaxBytes.
// Followers see p even if the file write fails.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	if l.f != nil && l.size > 0 && l.size+int64(len(p)) > l.opts.MaxBytes {
		l.rotate()
	}
	if l.f == nil { // a failed rotation: try again to have a file
		if f, size, err := openAppend(l.path); err == nil {
			l.f, l.size = f, size
		}
	}
	var err error
	if l.f == nil {
		err = fmt.Errorf("logfile: %s is not open", l.path)
	} else {
		var n int
		n, err = l.f.Write(p)
		l.size += int64(n)
	}
	if err != nil {
		l.fail(err)
	}
	l.remember(p)
	close(l.wake)
	l.wake = make(chan struct{})
	return len(p), err
}

// remember puts p in the follow window.
func (l *File) remember(p []byte) {
	if len(p) > len(l.ring) {
		l.pos += int64(len(p) - len(l.ring))
		p = p[len(p)-len(l.ring):]
	}
	i := int(l.pos % int64(len(l.ring)))
	n := copy(l.ring[i:], p)
	copy(l.ring, p[n:])
	l.pos += int64(len(p))
}

// rotate shifts path.N-1 → path.N … path → path.1 and starts an empty
// file. If that fails the current file is kept (and grows past the cap):
// nothing is lost.
func (l *File) rotate() {
	if err := l.f.Close(); err != nil {
		l.fail(err)
	}
	l.f = nil
	var err error
	for i := l.opts.Keep - 1; i >= 1 && err == nil; i-- {
		if rerr := os.Rename(rotated(l.path, i), rotated(l.path, i+1)); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = rerr
		}
	}
	if err == nil {
		err = os.Rename(l.path, rotated(l.path, 1))
	}
	if err != nil {
		l.fail(fmt.Errorf("logfile: rotating %s: %w", l.path, err))
	}
	f, size, oerr := openAppend(l.path)
	if oerr != nil {
		l.fail(oerr)
		return
	}
	l.f, l.size = f, size
}

func rotated(path string, i int) string { return path + "." + strconv.Itoa(i) }

// Close closes the file; followers end after what was written.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.closed = true
	close(l.wake)
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

// Snapshot returns the last n lines (oldest first, across rotated files)
// and the follow position just after them, so that Follow from it misses
// and repeats nothing.
func (l *File) Snapshot(n int) ([]string, int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines, err := Tail(l.path, n)
	return lines, l.pos, err
}

// Follow calls fn with each batch of complete lines written from position
// from on (from Snapshot), in order, until ctx ends (its error is
// returned), stop is closed or the File is closed (then it delivers what
// was written before and returns nil), or fn fails. skipped > 0 says how
// many bytes the follower missed because it fell more than FollowWindow
// behind; the lines after it are complete.
func (l *File) Follow(ctx context.Context, stop <-chan struct{}, from int64, fn func(lines []string, skipped int64) error) error {
	var carry []byte
	stopping, resync := false, false
	for {
		l.mu.Lock()
		data, skipped, next := l.read(from, 256<<10)
		wake, closed := l.wake, l.closed
		l.mu.Unlock()
		from = next
		if skipped > 0 {
			// The window starts inside a line whose start is gone: drop
			// up to the next line, and count it as missed.
			skipped += int64(len(carry))
			carry, resync = nil, true
		}
		if resync {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				skipped += int64(len(data))
				data = nil
			} else {
				skipped += int64(i + 1)
				data, resync = data[i+1:], false
			}
		}
		if len(data) > 0 || skipped > 0 {
			buf := append(carry, data...)
			var lines []string
			for {
				i := bytes.IndexByte(buf, '\n')
				if i < 0 {
					break
				}
				lines = append(lines, string(buf[:i]))
				buf = buf[i+1:]
			}
			carry = append([]byte(nil), buf...)
			if len(lines) > 0 || skipped > 0 {
				if err := fn(lines, skipped); err != nil {
					return err
				}
			}
			continue
		}
		if closed || stopping {
			if len(carry) > 0 {
				return fn([]string{string(carry)}, 0)
			}
			return nil
		}
		select {
		case <-wake:
		case <-stop:
			stopping = true
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// read returns up to max bytes written from position from, and how many
// bytes before them are no longer in the window. Callers hold mu.
func (l *File) read(from int64, max int) (data []byte, skipped, next int64) {
	oldest := max64(0, l.pos-int64(len(l.ring)))
	if from < oldest {
		skipped, from = oldest-from, oldest
	}
	if from > l.pos {
		from = l.pos
	}
	n := int(min(l.pos-from, int64(max)))
	data = make([]byte, n)
	i := int(from % int64(len(l.ring)))
	c := copy(data, l.ring[i:])
	copy(data[c:], l.ring)
	return data, skipped, from + int64(n)
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// Tail returns the last n lines (oldest first) of the log at path and its
// rotated predecessors path.1, path.2, …, without a trailing newline. A
// missing file has no lines. It needs no File: `weave logs` uses it when
// no daemon runs.
func Tail(path string, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	n = min(n, MaxTail)
	var out []string
	for i := 0; i <= MaxKeep && len(out) < n; i++ {
		p := path
		if i > 0 {
			p = rotated(path, i)
		}
		lines, err := lastLines(p, n-len(out))
		if errors.Is(err, os.ErrNotExist) {
			if i == 0 {
				continue // the daemon may be rotating right now
			}
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(lines, out...)
	}
	return out, nil
}

// lastLines reads up to n lines from the end of one file, backwards in
// blocks, so a large file costs only what is returned.
func lastLines(path string, n int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("logfile: %w", err)
	}
	const block = 64 << 10
	end := st.Size()
	var buf []byte
	for off := end; off > 0; {
		size := min(int64(block), off)
		off -= size
		chunk := make([]byte, size)
		if _, err := f.ReadAt(chunk, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("logfile: reading %s: %w", path, err)
		}
		buf = append(chunk, buf...)
		// n lines need n newlines before the last line's start (the
		// final newline ends the last line).
		if bytes.Count(bytes.TrimSuffix(buf, []byte{'\n'}), []byte{'\n'}) >= n {
			break
		}
	}
	text := bytes.TrimSuffix(buf, []byte{'\n'})
	if len(text) == 0 {
		return nil, nil
	}
	all := bytes.Split(text, []byte{'\n'})
	if len(all) > n {
		all = all[len(all)-n:]
	}
	out := make([]string, len(all))
	for i, b := range all {
		out[i] = string(b)
	}
	return out, nil
}
