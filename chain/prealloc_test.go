package chain

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func isZero(b []byte) bool { return bytes.Count(b, []byte{0}) == len(b) }

// frameSpans walks the frames of a segment's bytes up to the zero tail
// and returns each frame's offset and length and the end of the data.
func frameSpans(t *testing.T, b []byte) (offs, lens []int, end int) {
	t.Helper()
	for end < len(b) && !isZero(b[end:]) {
		_, n, _, reason := checkFrame(b[end:])
		if reason != "" {
			t.Fatalf("bad frame at %d: %s", end, reason)
		}
		offs, lens = append(offs, end), append(lens, n)
		end += n
	}
	return offs, lens, end
}

// copyDir copies a store directory file by file: taken while a Log is
// open, the copy is what a crash of the process would leave.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func writeAt(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestPreallocatedSegment: an open log keeps zeros ahead of its data (so
// commits change no file metadata); readers and Verify find the end of
// the data by the zero frame header, a crash leaves the zeros behind and
// the next Open resumes after the last record, and Close cuts the unused
// zeros.
func TestPreallocatedSegment(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testOptions(t))
	evs := appendN(t, l, 30)
	seg := lastSegment(t, dir)
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	_, _, end := frameSpans(t, b)
	if len(b) <= end || !isZero(b[end:]) || len(b)%zeroAlign != 0 {
		t.Fatalf("open segment: %d bytes of data, %d in the file: want zeros after the data up to a block boundary", end, len(b))
	}
	if rep := mustVerify(t, dir); rep.Events != 30 {
		t.Fatalf("Verify of the live store: %d events", rep.Events)
	}
	r, err := OpenReader(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 30 {
		t.Fatalf("reader sees %d events", r.Len())
	}
	r.Close()

	crashed := copyDir(t, dir)
	var logs logBuffer
	opts := testOptions(t)
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	l2 := openLog(t, crashed, opts)
	if contains(logs.String(), "torn") {
		t.Fatalf("a zero tail was taken for a torn one:\n%s", logs.String())
	}
	if n, h := l2.Head(); n != 30 || h != evs[29].Hash {
		t.Fatalf("head after the crash = %d", n)
	}
	e, err := l2.Append(context.Background(), "s", "after", nil)
	if err != nil || e.Seq != 30 || e.PrevHash != evs[29].Hash {
		t.Fatalf("did not resume: %+v %v", e, err)
	}
	closeLog(t, l2)
	mustVerify(t, crashed)

	closeLog(t, l)
	for _, d := range []string{dir, crashed} {
		b, err := os.ReadFile(lastSegment(t, d))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, end := frameSpans(t, b); end != len(b) {
			t.Fatalf("closed segment holds %d bytes after its data", len(b)-end)
		}
		l := openLog(t, d, testOptions(t))
		appendN(t, l, 5)
		closeLog(t, l)
		mustVerify(t, d)
	}
}

// TestPreallocationTrimmedAtRotation: a finished segment ends at its last
// record even while the log is open.
func TestPreallocationTrimmedAtRotation(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t)
	opts.SegmentSize = 8 << 10
	l := openLog(t, dir, opts)
	defer closeLog(t, l)
	appendN(t, l, 200)
	segs := segmentPaths(t, dir)
	if len(segs) < 3 {
		t.Fatalf("%d segments", len(segs))
	}
	for _, seg := range segs[:len(segs)-1] {
		b, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, end := frameSpans(t, b); end != len(b) {
			t.Fatalf("%s: %d bytes after its data", filepath.Base(seg), len(b)-end)
		}
	}
	mustVerify(t, dir)
}

// TestZeroTailDamage: the torn-tail rules hold inside the preallocated
// region. Only what lies beyond the acknowledged head may be cut (a frame
// cut short, a header fragment, stray bytes after the zeros); a record
// after a zero gap, or an acknowledged record zeroed, is corruption that
// Verify, Open and OpenReader all name the same way, and a refused Open
// changes nothing.
func TestZeroTailDamage(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, seg string, offs, lens []int, end int)
		kind   ProblemKind // "" for a clean end
	}{
		{"only zeros", func(*testing.T, string, []int, []int, int) {}, ""},
		{"frame cut short in the zeros", func(t *testing.T, seg string, offs, lens []int, end int) {
			b, _ := os.ReadFile(seg)
			last := b[offs[len(offs)-1]:end]
			writeAt(t, seg, int64(end), last[:len(last)-7])
		}, ProblemTornTail},
		{"header fragment in the zeros", func(t *testing.T, seg string, offs, lens []int, end int) {
			b, _ := os.ReadFile(seg)
			writeAt(t, seg, int64(end), b[offs[1]:offs[1]+3])
		}, ProblemTornTail},
		{"stray bytes after the zeros", func(t *testing.T, seg string, offs, lens []int, end int) {
			writeAt(t, seg, int64(end)+1000, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
		}, ProblemTornTail},
		{"a record after the zeros", func(t *testing.T, seg string, offs, lens []int, end int) {
			b, _ := os.ReadFile(seg)
			writeAt(t, seg, int64(end)+1000, b[offs[len(offs)-1]:end])
		}, ProblemCorruptRecord},
		{"acknowledged record zeroed", func(t *testing.T, seg string, offs, lens []int, end int) {
			last := offs[len(offs)-1]
			writeAt(t, seg, int64(last), make([]byte, end-last))
		}, ProblemTruncated},
		{"zero gap inside the data", func(t *testing.T, seg string, offs, lens []int, end int) {
			writeAt(t, seg, int64(offs[5]), make([]byte, lens[5]))
		}, ProblemCorruptRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := t.TempDir()
			l := openLog(t, live, testOptions(t))
			evs := appendN(t, l, 30)
			dir := copyDir(t, live) // as a crash leaves it: zeros after the data
			closeLog(t, l)
			seg := lastSegment(t, dir)
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			offs, lens, end := frameSpans(t, b)
			if end == len(b) {
				t.Fatal("no preallocated zeros to damage")
			}
			tt.damage(t, seg, offs, lens, end)
			rep, err := Verify(context.Background(), dir, VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.kind == "" && !rep.OK():
				t.Fatalf("Verify: %v", rep.Problem)
			case tt.kind != "" && (rep.OK() || rep.Problem.Kind != tt.kind):
				t.Fatalf("Verify: %v, want %s", rep.Problem, tt.kind)
			}
			if tt.kind == "" || tt.kind == ProblemTornTail {
				// Repaired (or clean): the chain resumes after the last
				// acknowledged record.
				l := openLog(t, dir, testOptions(t))
				if n, h := l.Head(); n != 30 || h != evs[29].Hash {
					t.Fatalf("head = %d", n)
				}
				if e, err := l.Append(context.Background(), "s", "after", nil); err != nil || e.Seq != 30 {
					t.Fatalf("append after repair: %+v %v", e, err)
				}
				closeLog(t, l)
				mustVerify(t, dir)
				return
			}
			before := snapshotDir(t, dir)
			mustRefuseLikeVerify(t, dir, testOptions(t), rep.Problem, seg, before)
		})
	}
}

// TestZeroGapInFinishedSegment: zeros after the last record of a finished
// segment are a clean end; anything after them is corruption (only the
// last segment can have a torn tail).
func TestZeroGapInFinishedSegment(t *testing.T) {
	for _, garbage := range []bool{false, true} {
		dir := t.TempDir()
		opts := testOptions(t)
		opts.SegmentSize = 8 << 10
		l := openLog(t, dir, opts)
		appendN(t, l, 60)
		closeLog(t, l)
		segs := segmentPaths(t, dir)
		if len(segs) < 2 {
			t.Fatalf("%d segments", len(segs))
		}
		zeros := make([]byte, 4096)
		if garbage {
			zeros[2000] = 7
		}
		appendBytes(t, segs[0], zeros)
		rep, err := Verify(context.Background(), dir, VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !garbage {
			if !rep.OK() {
				t.Fatalf("zeros after a finished segment: %v", rep.Problem)
			}
			l := openLog(t, dir, opts)
			closeLog(t, l)
			continue
		}
		if rep.OK() || rep.Problem.Kind != ProblemCorruptRecord || rep.Problem.Segment != filepath.Base(segs[0]) {
			t.Fatalf("garbage after zeros in a finished segment: %v", rep.Problem)
		}
		if _, err := Open(context.Background(), dir, opts); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open = %v", err)
		}
	}
}

// TestVerifyWhileWriting: Verify and OpenReader running beside a writer
// (which overwrites the zeros ahead of its data) see the records being
// written as an unacknowledged tail at worst, never as corruption.
func TestVerifyWhileWriting(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testOptions(t))
	defer closeLog(t, l)
	appendN(t, l, 10)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := l.Append(context.Background(), "w", "k", map[string]string{"pad": string(bytes.Repeat([]byte("x"), 300))}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 40 {
		rep, err := Verify(context.Background(), dir, VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() && rep.Problem.Kind != ProblemTornTail {
			t.Fatalf("Verify beside a writer: %v", rep.Problem)
		}
		r, err := OpenReader(dir)
		if err != nil {
			t.Fatalf("OpenReader beside a writer: %v", err)
		}
		r.Close()
	}
	close(stop)
	wg.Wait()
}
