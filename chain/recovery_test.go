package chain

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// buildChain writes n events (closing the log, so a final checkpoint is
// written), then appends m more events with a crash-like stop: the log is
// closed but the final checkpoint record is cut off again by the caller.
func buildChain(t *testing.T, dir string, n int) []Event {
	t.Helper()
	l := openLog(t, dir, testOptions(t))
	evs := appendN(t, l, n)
	closeLog(t, l)
	return evs
}

func lastSegment(t *testing.T, dir string) string {
	segs := segmentPaths(t, dir)
	return segs[len(segs)-1]
}

func fileSize(t *testing.T, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func TestTornTailRecovery(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string, size int64)
	}{
		{"cut mid record", func(t *testing.T, path string, size int64) { truncate(t, path, size-7) }},
		{"cut mid header", func(t *testing.T, path string, size int64) { truncate(t, path, size-int64(recordLen(t, path))+3) }},
		{"garbage appended", func(t *testing.T, path string, size int64) {
			appendBytes(t, path, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
		}},
		{"zeros appended", func(t *testing.T, path string, size int64) { appendBytes(t, path, make([]byte, 4096)) }},
		{"last record garbled", func(t *testing.T, path string, size int64) { flipByte(t, path, size-3) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			evs := buildChain(t, dir, 30)
			seg := lastSegment(t, dir)
			tt.damage(t, seg, fileSize(t, seg))

			rep, err := Verify(context.Background(), dir, VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() || rep.Problem.Kind != ProblemTornTail {
				t.Fatalf("Verify before recovery: %+v", rep.Problem)
			}

			var logs logBuffer
			opts := testOptions(t)
			opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			l := openLog(t, dir, opts)
			if !contains(logs.String(), "truncating torn tail") || !contains(logs.String(), "level=WARN") {
				t.Fatalf("torn tail not logged as a warning:\n%s", logs.String())
			}
			if n, h := l.Head(); n != 30 || h != evs[29].Hash {
				t.Fatalf("head after recovery = %d, want 30", n)
			}
			e, err := l.Append(context.Background(), "s", "after", nil)
			if err != nil {
				t.Fatal(err)
			}
			if e.Seq != 30 || e.PrevHash != evs[29].Hash {
				t.Fatalf("did not resume: %+v", e)
			}
			closeLog(t, l)
			mustVerify(t, dir)
		})
	}
}

func TestMiddleCorruptionIsAnError(t *testing.T) {
	dir := t.TempDir()
	buildChain(t, dir, 30)
	seg := lastSegment(t, dir)
	flipByte(t, seg, 200) // inside an early event record
	// With state.json the damaged range is not rescanned at Open, but every
	// read checks the record's CRC.
	l := openLog(t, dir, testOptions(t))
	var readErr error
	for e, err := range l.Events(0, 30) {
		_ = e
		readErr = err
	}
	if !errors.Is(readErr, ErrCorrupt) {
		t.Fatalf("reading a corrupt record: %v", readErr)
	}
	closeLog(t, l)
	if rep := mustVerifyFails(t, dir); rep.Problem.Kind != ProblemCorruptRecord {
		t.Fatalf("Verify: %v", rep.Problem)
	}
	// Without state.json the corruption is found by the recovery scan.
	os.Remove(filepath.Join(dir, stateFile))
	_, err := Open(context.Background(), dir, testOptions(t))
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
	if !contains(err.Error(), filepath.Base(seg)) {
		t.Fatalf("error does not name the segment: %v", err)
	}
	if _, err := OpenReader(dir); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("OpenReader = %v, want ErrCorrupt", err)
	}
}

func TestDerivedFilesRebuilt(t *testing.T) {
	for _, name := range []string{stateFile, indexFile, treeFile, checkpointsFile} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			evs := buildChain(t, dir, 40)
			path := filepath.Join(dir, name)
			if name == stateFile {
				os.Remove(path)
			} else {
				flipByte(t, path, fileSize(t, path)-5)
			}
			r, err := OpenReader(dir)
			if err != nil {
				t.Fatal(err)
			}
			checkEvents(t, r.store, evs)
			r.Close()
			l := openLog(t, dir, testOptions(t))
			checkEvents(t, l.store, evs)
			closeLog(t, l)
			mustVerify(t, dir)
		})
	}
}

func checkEvents(t *testing.T, s *store, evs []Event) {
	t.Helper()
	if s.Len() != uint64(len(evs)) {
		t.Fatalf("len %d, want %d", s.Len(), len(evs))
	}
	cp, ok := s.LatestCheckpoint()
	if !ok {
		t.Fatal("no checkpoint")
	}
	for _, e := range evs {
		got, err := s.Get(e.Seq)
		if err != nil || got.Hash != e.Hash {
			t.Fatalf("event %d: %v", e.Seq, err)
		}
		p, err := s.InclusionProofAt(e.Seq, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyInclusion(s.PublicKeys(), cp, e.Hash, p); err != nil {
			t.Fatalf("inclusion %d: %v", e.Seq, err)
		}
	}
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// recordLen returns the frame length of the last record in a segment.
func recordLen(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	last := 0
	for off := 0; off < len(b); {
		_, n, _, reason := checkFrame(b[off:])
		if reason != "" {
			t.Fatalf("bad frame at %d: %s", off, reason)
		}
		last = n
		off += n
	}
	return last
}

func mustVerifyFails(t *testing.T, dir string) *Report {
	t.Helper()
	rep, err := Verify(context.Background(), dir, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() {
		t.Fatal("Verify found no problem")
	}
	return rep
}
