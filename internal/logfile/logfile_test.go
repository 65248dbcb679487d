package logfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, opts Options) *File {
	t.Helper()
	l, err := Open(filepath.Join(t.TempDir(), "weave.log"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func line(i int) string { return fmt.Sprintf("level=INFO msg=\"line %04d\"", i) }

func writeLines(t *testing.T, l *File, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if _, err := l.Write([]byte(line(i) + "\n")); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRotation: files stay under the cap, Keep rotated files are kept,
// and Tail reads the newest lines across them, in order.
func TestRotation(t *testing.T) {
	cases := []struct {
		name        string
		max         int64
		keep, lines int
	}{
		{"no rotation", 1 << 20, 2, 10},
		{"one rotation", 400, 2, 15},
		{"oldest dropped", 200, 2, 60},
		{"keep one", 300, 1, 40},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := open(t, Options{MaxBytes: c.max, Keep: c.keep})
			writeLines(t, l, 0, c.lines)
			for i := 0; i <= c.keep+1; i++ {
				p := l.Path()
				if i > 0 {
					p = rotated(p, i)
				}
				st, err := os.Stat(p)
				if i > c.keep {
					if err == nil {
						t.Fatalf("%s kept beyond keep %d", p, c.keep)
					}
					continue
				}
				if err != nil {
					continue // not rotated that far
				}
				if st.Size() > c.max {
					t.Fatalf("%s is %d bytes, cap %d", p, st.Size(), c.max)
				}
				if st.Mode().Perm()&0o077 != 0 && os.PathSeparator == '/' {
					t.Fatalf("%s has mode %v", p, st.Mode())
				}
			}
			got, err := Tail(l.Path(), 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 || got[len(got)-1] != line(c.lines-1) {
				t.Fatalf("tail ends with %q", got)
			}
			first := c.lines - len(got)
			for i, s := range got {
				if s != line(first+i) {
					t.Fatalf("tail[%d] = %q, want %q", i, s, line(first+i))
				}
			}
			if c.max >= 1<<20 && len(got) != c.lines {
				t.Fatalf("got %d lines, wrote %d", len(got), c.lines)
			}
			if got, _ := Tail(l.Path(), 3); len(got) != 3 || got[2] != line(c.lines-1) {
				t.Fatalf("tail 3 = %q", got)
			}
		})
	}
}

func TestTailMissingAndLong(t *testing.T) {
	if got, err := Tail(filepath.Join(t.TempDir(), "none.log"), 5); err != nil || got != nil {
		t.Fatalf("missing file: %q %v", got, err)
	}
	// Lines spanning several read blocks, and a last line without newline.
	p := filepath.Join(t.TempDir(), "x.log")
	long := strings.Repeat("x", 150<<10)
	if err := os.WriteFile(p, []byte("a\n"+long+"\nb\nc"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Tail(p, 3)
	if err != nil || len(got) != 3 || got[0] != long || got[1] != "b" || got[2] != "c" {
		t.Fatalf("got %d lines, %v", len(got), err)
	}
	if got, _ := Tail(p, 10); len(got) != 4 || got[0] != "a" {
		t.Fatalf("whole file: %d lines", len(got))
	}
}

// follower collects what Follow delivers.
type follower struct {
	mu      sync.Mutex
	lines   []string
	skipped int64
	more    chan struct{}
	done    chan error
}

func follow(l *File, ctx context.Context, stop <-chan struct{}, from int64) *follower {
	f := &follower{more: make(chan struct{}, 1), done: make(chan error, 1)}
	go func() {
		f.done <- l.Follow(ctx, stop, from, func(lines []string, skipped int64) error {
			f.mu.Lock()
			f.lines = append(f.lines, lines...)
			f.skipped += skipped
			f.mu.Unlock()
			select {
			case f.more <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	return f
}

// waitLines waits until the follower holds n lines.
func (f *follower) waitLines(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		f.mu.Lock()
		got := append([]string(nil), f.lines...)
		f.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-f.more:
		case <-deadline:
			t.Fatalf("follower has %d lines, want %d: %q", len(got), n, got)
		}
	}
}

// TestSnapshotFollow: the snapshot and what follows it add up to every
// line once; stop ends the follower after what was written.
func TestSnapshotFollow(t *testing.T) {
	l := open(t, Options{MaxBytes: 300, Keep: 3})
	writeLines(t, l, 0, 5)
	snap, pos, err := l.Snapshot(2)
	if err != nil || len(snap) != 2 || snap[1] != line(4) {
		t.Fatalf("snapshot %q %v", snap, err)
	}
	stop := make(chan struct{})
	f := follow(l, context.Background(), stop, pos)
	writeLines(t, l, 5, 20) // rotates underneath
	got := f.waitLines(t, 15)
	for i, s := range got {
		if s != line(5+i) {
			t.Fatalf("followed[%d] = %q", i, s)
		}
	}
	// A partial line is delivered when the follower stops.
	if _, err := l.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	close(stop)
	if err := <-f.done; err != nil {
		t.Fatal(err)
	}
	if got := f.waitLines(t, 16); got[15] != "partial" || f.skipped != 0 {
		t.Fatalf("last %q, skipped %d", got[15], f.skipped)
	}
}

func TestFollowEnds(t *testing.T) {
	cases := []struct {
		name string
		end  func(l *File, cancel context.CancelFunc)
		want error
	}{
		{"close", func(l *File, _ context.CancelFunc) { _ = l.Close() }, nil},
		{"context", func(_ *File, cancel context.CancelFunc) { cancel() }, context.Canceled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := open(t, Options{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, pos, _ := l.Snapshot(0)
			f := follow(l, ctx, nil, pos)
			writeLines(t, l, 0, 1)
			f.waitLines(t, 1)
			c.end(l, cancel)
			if err := <-f.done; !errors.Is(err, c.want) {
				t.Fatalf("Follow returned %v, want %v", err, c.want)
			}
			if _, err := l.Write([]byte("x\n")); c.name == "close" && !errors.Is(err, ErrClosed) {
				t.Fatalf("write after close: %v", err)
			}
		})
	}
}

// TestFollowBehind: a follower that falls out of the window is told how
// much it missed, and then gets whole lines.
func TestFollowBehind(t *testing.T) {
	l := open(t, Options{MaxBytes: 64 << 20})
	n := FollowWindow/len(line(0)+"\n") + 100
	writeLines(t, l, 0, n)
	stop := make(chan struct{})
	close(stop)
	f := follow(l, context.Background(), stop, 0)
	if err := <-f.done; err != nil {
		t.Fatal(err)
	}
	if f.skipped == 0 || int64(len(f.lines))*int64(len(line(0))+1)+f.skipped != int64(n*(len(line(0))+1)) {
		t.Fatalf("skipped %d bytes, got %d lines of %d", f.skipped, len(f.lines), n)
	}
	for i, s := range f.lines {
		if s != line(n-len(f.lines)+i) {
			t.Fatalf("line %d = %q", i, s)
		}
	}
}

// TestRotationFailureKeepsWriting: when the file cannot be rotated, lines
// keep going to it and the failure is counted.
func TestRotationFailureKeepsWriting(t *testing.T) {
	if os.PathSeparator != '/' {
		t.Skip("rename semantics")
	}
	l := open(t, Options{MaxBytes: 100, Keep: 1})
	if err := os.MkdirAll(filepath.Join(rotated(l.Path(), 1), "busy"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeLines(t, l, 0, 10)
	if n, err := l.Errors(); n == 0 || err == nil {
		t.Fatalf("errors %d %v", n, err)
	}
	got, _ := lastLines(l.Path(), 100)
	if len(got) != 10 {
		t.Fatalf("%d lines in the file, want 10", len(got))
	}
}

func TestConcurrentWrites(t *testing.T) {
	l := open(t, Options{MaxBytes: 4 << 10, Keep: 50})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				if _, err := fmt.Fprintf(l, "g%d %d\n", g, i); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := Tail(l.Path(), MaxTail)
	if err != nil || len(got) != 800 {
		t.Fatalf("%d lines, %v", len(got), err)
	}
}
