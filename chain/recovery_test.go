package chain

import (
	"context"
	"errors"
	"io"
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

// lastFrame returns a copy of the last record frame of the segment at path.
func lastFrame(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := recordLen(t, path)
	return append([]byte(nil), b[len(b)-n:]...)
}

// TestTornTailRecovery: a record whose write a crash interrupted was never
// acknowledged (its index row is written only after the fsync), so Open
// truncates it, logs it, and the chain resumes where it was.
func TestTornTailRecovery(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"cut mid record", func(t *testing.T, path string) { f := lastFrame(t, path); appendBytes(t, path, f[:len(f)-7]) }},
		{"cut mid header", func(t *testing.T, path string) { appendBytes(t, path, lastFrame(t, path)[:3]) }},
		{"garbage appended", func(t *testing.T, path string) {
			appendBytes(t, path, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
		}},
		{"last record garbled", func(t *testing.T, path string) {
			f := lastFrame(t, path)
			f[len(f)-3] ^= 0xff
			appendBytes(t, path, f)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			evs := buildChain(t, dir, 30)
			seg := lastSegment(t, dir)
			tt.damage(t, seg)

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

// TestAcknowledgedDataIsNeverTruncated: damage to acknowledged records —
// a segment cut in half, a byte flipped near its end or in its middle, a
// missing last segment — is never "repaired" by cutting: Open and
// OpenReader refuse with ErrCorrupt, naming the same kind, segment, offset
// and seq as Verify; nothing on disk changes.
func TestAcknowledgedDataIsNeverTruncated(t *testing.T) {
	tests := []struct {
		name   string
		opts   func(*Options)
		damage func(t *testing.T, dir, seg string, size int64)
		kind   ProblemKind
	}{
		{"cut in half", nil, func(t *testing.T, _, seg string, size int64) { truncate(t, seg, size/2) }, ProblemTruncated},
		{"cut 7 bytes", nil, func(t *testing.T, _, seg string, size int64) { truncate(t, seg, size-7) }, ProblemTruncated},
		{"cut one record", nil, func(t *testing.T, _, seg string, size int64) { truncate(t, seg, size-int64(recordLen(t, seg))) }, ProblemTruncated},
		{"flip near the end", nil, func(t *testing.T, _, seg string, size int64) { flipByte(t, seg, size-3) }, ProblemCorruptRecord},
		{"flip in the middle", nil, func(t *testing.T, _, seg string, size int64) { flipByte(t, seg, size/2) }, ProblemCorruptRecord},
		{"cut with state.json gone", nil, func(t *testing.T, dir, seg string, size int64) {
			truncate(t, seg, size/2)
			os.Remove(filepath.Join(dir, stateFile))
		}, ProblemTruncated},
		{"last segment deleted", func(o *Options) { o.SegmentSize = 4096 }, func(t *testing.T, _, seg string, _ int64) {
			if err := os.Remove(seg); err != nil {
				t.Fatal(err)
			}
		}, ProblemTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := testOptions(t)
			if tt.opts != nil {
				tt.opts(&opts)
			}
			l := openLog(t, dir, opts)
			appendN(t, l, 60)
			closeLog(t, l)
			seg := lastSegment(t, dir)
			tt.damage(t, dir, seg, fileSize(t, seg))
			before := snapshotDir(t, dir)
			rep := mustVerifyFails(t, dir)
			if rep.Problem.Kind != tt.kind {
				t.Fatalf("Verify: %v, want %s", rep.Problem, tt.kind)
			}
			mustRefuseLikeVerify(t, dir, opts, rep.Problem, seg, before)
		})
	}
}

// mustRefuseLikeVerify checks that Open (with opts) and OpenReader both
// refuse dir with ErrCorrupt and the Problem Verify reported (want), and
// that the refusal left the damaged segment seg as it was (before:
// snapshotDir's, taken after the damage).
func mustRefuseLikeVerify(t *testing.T, dir string, opts Options, want *Problem, seg string, before map[string]string) {
	t.Helper()
	for name, open := range map[string]func() error{
		"Open": func() error {
			l, err := Open(context.Background(), dir, opts)
			if err == nil {
				l.Close(context.Background())
			}
			return err
		},
		"OpenReader": func() error {
			r, err := OpenReader(dir)
			if err == nil {
				r.Close()
			}
			return err
		},
	} {
		err := open()
		var p *Problem
		if !errors.Is(err, ErrCorrupt) || !errors.As(err, &p) {
			t.Fatalf("%s = %v, want ErrCorrupt with a Problem", name, err)
		}
		if p.Kind != want.Kind || p.Seq != want.Seq || p.Segment != want.Segment || p.Offset != want.Offset {
			t.Fatalf("%s: %v\nVerify: %v", name, p, want)
		}
	}
	if after := snapshotDir(t, dir); after[filepath.Base(seg)] != before[filepath.Base(seg)] {
		t.Fatal("a refused Open changed the damaged segment")
	}
}

// snapshotDir maps file names to their contents.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		out[e.Name()] = string(b)
	}
	return out
}

func TestMiddleCorruptionIsAnError(t *testing.T) {
	dir := t.TempDir()
	buildChain(t, dir, 30)
	seg := lastSegment(t, dir)
	flipByte(t, seg, 200) // inside an early event record
	rep := mustVerifyFails(t, dir)
	if rep.Problem.Kind != ProblemCorruptRecord {
		t.Fatalf("Verify: %v", rep.Problem)
	}
	// Open checks every record, also those state.json says were written.
	_, err := Open(context.Background(), dir, testOptions(t))
	var p *Problem
	if !errors.Is(err, ErrCorrupt) || !errors.As(err, &p) || p.Seq != rep.Problem.Seq || p.Offset != rep.Problem.Offset {
		t.Fatalf("Open = %v, want the problem Verify found (%v)", err, rep.Problem)
	}
	// Without state.json the corruption is found by the recovery scan.
	os.Remove(filepath.Join(dir, stateFile))
	_, err = Open(context.Background(), dir, testOptions(t))
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

// TestDerivedFilesRebuilt: index, tree, checkpoint index and state files
// that disagree with intact segments — deleted, a byte flipped, garbage —
// are rebuilt from the segments; nothing is lost and the repair is
// reported.
func TestDerivedFilesRebuilt(t *testing.T) {
	type damage struct {
		name string
		file string
		do   func(t *testing.T, path string)
	}
	var cases []damage
	for _, name := range []string{stateFile, indexFile, treeFile, checkpointsFile} {
		cases = append(cases,
			damage{"flip/" + name, name, func(t *testing.T, path string) { flipByte(t, path, fileSize(t, path)-5) }},
			damage{"garbage/" + name, name, func(t *testing.T, path string) {
				if err := os.WriteFile(path, []byte("\x00\xffnot what you think\x01"), 0o600); err != nil {
					t.Fatal(err)
				}
			}})
	}
	cases = append(cases, damage{"delete/" + stateFile, stateFile, func(t *testing.T, path string) { os.Remove(path) }})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			evs := buildChain(t, dir, 40)
			tc.do(t, filepath.Join(dir, tc.file))
			r, err := OpenReader(dir)
			if err != nil {
				t.Fatal(err)
			}
			checkEvents(t, r.store, evs)
			r.Close()
			l := openLog(t, dir, testOptions(t))
			checkEvents(t, l.store, evs)
			if tc.file != stateFile && tc.file != treeFile && len(l.Repairs()) == 0 {
				t.Fatalf("the repair of %s was not reported", tc.file)
			}
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
	for off := 0; off < len(b) && !isZero(b[off:]); {
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

// TestExportNamesTheDamage: damage that appears under an open store (the
// disk rots after boot) makes Export fail with the same precise problem
// Verify reports — not a generic read error.
func TestExportNamesTheDamage(t *testing.T) {
	dir := t.TempDir()
	buildChain(t, dir, 30)
	r, err := OpenReader(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	seg := lastSegment(t, dir)
	flipByte(t, seg, fileSize(t, seg)/2)
	rep := mustVerifyFails(t, dir)
	err = r.Export(context.Background(), io.Discard, 0)
	var p *Problem
	if !errors.Is(err, ErrCorrupt) || !errors.As(err, &p) {
		t.Fatalf("Export = %v", err)
	}
	if p.Kind != rep.Problem.Kind || p.Seq != rep.Problem.Seq || p.Segment != rep.Problem.Segment || p.Offset != rep.Problem.Offset {
		t.Fatalf("Export: %v\nVerify: %v", p, rep.Problem)
	}
}
