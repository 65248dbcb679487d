package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ErrExists is returned by Fork when the new session's name is taken.
var ErrExists = errors.New("session: a session with that name exists")

// Fork starts session to as a copy of session from's first upTo steps (0:
// all of them), with their original times, and returns the new session's
// summary. The source is only read. Every step is checked again as it is
// appended, and the copy is fsynced once at the end; if Fork fails the
// partial copy is removed.
func Fork(ctx context.Context, home, from, to string, upTo uint64) (Summary, error) {
	src, err := Read(home, from)
	if err != nil {
		return Summary{}, err
	}
	dir, err := Path(home, to)
	if err != nil {
		return Summary{}, err
	}
	if _, err := os.Lstat(dir); err == nil {
		return Summary{}, fmt.Errorf("%w: %q", ErrExists, to)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Summary{}, fmt.Errorf("session: %w", err)
	}
	steps := src.Steps
	if upTo > 0 {
		if upTo > uint64(len(steps)) {
			return Summary{}, fmt.Errorf("%w: session %q has %d steps, not %d", ErrInvalidStep, from, len(steps), upTo)
		}
		steps = steps[:upTo]
	}
	next := 0
	clock := func() time.Time {
		if next < len(steps) {
			return steps[next].Time
		}
		return time.Now()
	}
	s, err := Open(home, to, WithClock(clock))
	if err != nil {
		return Summary{}, err
	}
	fail := func(err error) (Summary, error) {
		_ = s.Close()
		_ = os.RemoveAll(dir)
		return Summary{}, err
	}
	for i, st := range steps {
		add := s.AppendBuffered
		if i == len(steps)-1 {
			add = s.Append // one fsync covers the copy
		}
		if _, err := add(ctx, Step{Type: st.Type, Data: st.Data}); err != nil {
			return fail(fmt.Errorf("session: forking step %d: %w", st.Seq, err))
		}
		next++
	}
	if err := syncDir(filepath.Join(home, Dir)); err != nil {
		return fail(err)
	}
	if err := s.Close(); err != nil {
		_ = os.RemoveAll(dir)
		return Summary{}, err
	}
	snap, err := Read(home, to)
	if err != nil {
		return Summary{}, err
	}
	return summarize(to, snap), nil
}

// WriteJournal copies session name's journal, exactly as stored (one JSON
// record per line, each ending in its CRC-32C), to w, after checking every
// record. A torn final record (a write a crash cut short) is left out.
func WriteJournal(home, name string, w io.Writer) (int64, error) {
	dir, err := Path(home, name)
	if err != nil {
		return 0, err
	}
	meta, err := readMeta(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	if err != nil {
		return 0, fmt.Errorf("session %s: %w", name, err)
	}
	path := filepath.Join(dir, JournalFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil // created, nothing journaled yet
	}
	if err != nil {
		return 0, fmt.Errorf("session: %w", err)
	}
	res, err := scan(bytes.NewReader(data), path, meta.format(), false)
	if err != nil {
		return 0, err
	}
	n, err := w.Write(data[:res.good])
	return int64(n), err
}
