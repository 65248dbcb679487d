package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func openCommitter(t *testing.T, home string, opts ...CommitOption) *Committer {
	t.Helper()
	c, err := OpenCommitter(context.Background(), home, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func closeCommitter(t *testing.T, c *Committer) {
	t.Helper()
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// runSessions appends steps cycles of cycleStep to each of n sessions,
// concurrently, through c, and returns how many steps each acknowledged.
// Every fifth step (the model response) is buffered, as the daemon does.
func runSessions(t *testing.T, home string, c *Committer, names []string, steps int, closeAfter bool) map[string]int {
	t.Helper()
	var mu sync.Mutex
	acked := map[string]int{}
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(home, name, WithCommitter(c))
			if err != nil {
				t.Error(err)
				return
			}
			start := s.Resume().LastSeq
			for seq := start + 1; seq <= start+uint64(steps); seq++ {
				st := cycleStep(seq, int(seq*131%700))
				var err error
				if (seq-1)%5 == 1 {
					_, err = s.AppendBuffered(context.Background(), st)
				} else {
					_, err = s.Append(context.Background(), st)
				}
				if err != nil {
					t.Error(err)
					return
				}
				if (seq-1)%5 != 1 {
					mu.Lock()
					acked[name] = int(seq)
					mu.Unlock()
				}
			}
			if closeAfter {
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	return acked
}

// checkSteps checks that session name holds at least want steps, each the
// one cycleStep says, with a consistent state.
func checkSteps(t *testing.T, s *Session, want int) {
	t.Helper()
	steps := stepsOf(t, s)
	if len(steps) < want {
		t.Fatalf("%s: %d steps, %d were acknowledged", s.Name(), len(steps), want)
	}
	for i, st := range steps {
		w := cycleStep(uint64(i+1), (i+1)*131%700)
		if st.Seq != uint64(i+1) || st.Type != w.Type || !bytes.Equal(st.Data, w.Data) {
			t.Fatalf("%s: step %d is %d/%s, want %s", s.Name(), i+1, st.Seq, st.Type, w.Type)
		}
	}
	checkCrashState(t, s.Resume(), uint64(len(steps)))
}

func TestCommitterAppendsAndCloses(t *testing.T) {
	home := t.TempDir()
	// A small log file bound makes the committer retire files while
	// sessions append.
	c := openCommitter(t, home, WithCommitLogSize(4<<10))
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	acked := runSessions(t, home, c, names, 40, true)
	st := c.Stats()
	if st.Records != uint64(len(names)*32) || st.Batches == 0 || st.Batches > st.Records || st.Retired == 0 {
		t.Fatalf("stats %+v: want %d records in at most as many batches, some files retired", st, len(names)*32)
	}
	closeCommitter(t, c)
	// A clean close leaves no log to replay.
	gens, err := listGens(commitDir(home))
	if err != nil || len(gens) != 0 {
		t.Fatalf("log files after Close: %v %v", gens, err)
	}
	for _, name := range names {
		s, err := Open(home, name)
		if err != nil {
			t.Fatal(err)
		}
		checkSteps(t, s, acked[name])
		if len(stepsOf(t, s)) != 40 {
			t.Fatalf("%s: %d steps, want 40", name, len(stepsOf(t, s)))
		}
		s.Close()
	}
}

func TestCommitterExclusive(t *testing.T) {
	home := t.TempDir()
	c := openCommitter(t, home)
	if _, err := OpenCommitter(context.Background(), home); !errors.Is(err, ErrLocked) {
		t.Fatalf("second committer: %v, want ErrLocked", err)
	}
	held, err := Open(home, "held", WithCommitter(c))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(home, "held"); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open of a session the committer's owner has open: %v, want ErrLocked", err)
	}
	held.Close()
	own, err := Open(home, "own") // a session of its own, beside the committer (weft sessions fork)
	if err != nil {
		t.Fatalf("Open without the running committer: %v", err)
	}
	own.Close()
	if _, err := Open(t.TempDir(), "x", WithCommitter(c)); err == nil {
		t.Fatal("a committer accepted a session of another home")
	}
	closeCommitter(t, c)
	if err := c.Close(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	s, err := Open(home, "x")
	if err != nil {
		t.Fatalf("Open after the committer closed: %v", err)
	}
	s.Close()
}

func TestCommitterClosedRefusesAppends(t *testing.T) {
	home := t.TempDir()
	c := openCommitter(t, home)
	s, err := Open(home, "x", WithCommitter(c))
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, UserMessage("hi"))
	closeCommitter(t, c)
	if _, err := s.Append(context.Background(), FinalAnswer("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after the committer closed: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(home, "x")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := len(stepsOf(t, s)); n != 1 {
		t.Fatalf("%d steps, want 1", n)
	}
}

func TestCommitterWriteFailure(t *testing.T) {
	home := t.TempDir()
	c := openCommitter(t, home)
	s, err := Open(home, "x", WithCommitter(c))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustAppend(t, s, UserMessage("hi"))
	// Make the log's next write fail. The committer reads c.f only after
	// receiving a request, which this precedes.
	c.f.Close()
	if _, err := s.Append(context.Background(), FinalAnswer("x")); err == nil {
		t.Fatal("Append succeeded with the commit log broken")
	}
	if _, err := s.Append(context.Background(), FinalAnswer("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after a failed commit: %v, want ErrClosed", err)
	}
	if c.Err() == nil {
		t.Fatal("committer does not report its failure")
	}
	if err := c.Close(context.Background()); err == nil {
		t.Fatal("Close of a failed committer reported no error")
	}
	// The log is kept for the next open, which replays it.
	if gens, _ := listGens(commitDir(home)); len(gens) == 0 {
		t.Fatal("a failed committer retired its log")
	}
}

// copyHome copies home as a crash would leave it (modulo lost pages, which
// the caller simulates): the files as they are now.
func copyHome(t *testing.T, home string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a log file retired while copying: its journals were synced first
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(home, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// durablePrefixes returns, per session, the offset of its first record in
// the commit log of home: journal bytes from there on may not have
// reached the disk.
func durablePrefixes(t *testing.T, home string) map[string]int64 {
	t.Helper()
	dir := commitDir(home)
	gens, err := listGens(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, g := range gens {
		b, err := os.ReadFile(filepath.Join(dir, genName(g)))
		if err != nil {
			t.Fatal(err)
		}
		recs, _, err := decodeCommitLog(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if _, ok := out[r.name]; !ok {
				out[r.name] = r.off
			}
		}
	}
	return out
}

// TestCommitterPowerLoss simulates losing every journal page that was not
// fsynced on its own: the journals are cut back to what was durable
// without the log (and garbage is left where the lost pages were), then
// the log is replayed. Every acknowledged step must be back.
func TestCommitterPowerLoss(t *testing.T) {
	damages := []struct {
		name  string
		apply func(b []byte, durable int64) []byte
	}{
		{"pages intact", func(b []byte, _ int64) []byte { return b }},
		{"cut at the durable prefix", func(b []byte, d int64) []byte { return b[:d] }},
		{"cut inside a lost record", func(b []byte, d int64) []byte { return b[:d+(int64(len(b))-d)/2] }},
		{"zeroed blocks", func(b []byte, d int64) []byte {
			b = bytes.Clone(b)
			for i := d; i < int64(len(b)); i++ {
				b[i] = 0
			}
			return b
		}},
		{"garbage lines", func(b []byte, d int64) []byte {
			return append(bytes.Clone(b[:d]), []byte(strings.Repeat("\x00\x00garbage\n", 20))...)
		}},
	}
	for _, dm := range damages {
		t.Run(dm.name, func(t *testing.T) {
			home := t.TempDir()
			c := openCommitter(t, home, WithCommitLogSize(8<<10))
			names := []string{"a", "b", "c", "d"}
			acked := runSessions(t, home, c, names, 23, false)
			crashed := copyHome(t, home)
			closeCommitter(t, c)

			prefix := durablePrefixes(t, crashed)
			for _, name := range names {
				path := journalPath(crashed, name)
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				d, ok := prefix[name]
				if !ok {
					continue // nothing of it in the log: all of it was durable
				}
				if err := os.WriteFile(path, dm.apply(b, d), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c2 := openCommitter(t, crashed)
			for _, name := range names {
				s, err := Open(crashed, name, WithCommitter(c2))
				if err != nil {
					t.Fatal(err)
				}
				checkSteps(t, s, acked[name])
				if s.Recovered().TornBytes != 0 {
					t.Errorf("%s: torn bytes %d after replay", name, s.Recovered().TornBytes)
				}
				// The session goes on from where the log left it.
				seq := s.Resume().LastSeq + 1
				if _, err := s.Append(context.Background(), cycleStep(seq, int(seq*131%700))); err != nil {
					t.Fatal(err)
				}
				s.Close()
			}
			closeCommitter(t, c2)
		})
	}
}

// TestOpenRecoversAbandonedLog: with no committer running, Open replays a
// log a crashed one left before it reads the session.
func TestOpenRecoversAbandonedLog(t *testing.T) {
	home := t.TempDir()
	c := openCommitter(t, home)
	acked := runSessions(t, home, c, []string{"a", "b"}, 12, false)
	crashed := copyHome(t, home)
	closeCommitter(t, c)
	prefix := durablePrefixes(t, crashed)
	path := journalPath(crashed, "a")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b[:prefix["a"]], 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(crashed, "a")
	if err != nil {
		t.Fatal(err)
	}
	checkSteps(t, s, acked["a"])
	s.Close()
	if gens, _ := listGens(commitDir(crashed)); len(gens) != 0 {
		t.Fatalf("log files left after recovery: %v", gens)
	}
}

// TestCommitLogSkipsOtherIncarnations: records of a session that was
// removed and created again are not replayed into the new one.
func TestCommitLogSkipsOtherIncarnations(t *testing.T) {
	home := t.TempDir()
	c := openCommitter(t, home)
	runSessions(t, home, c, []string{"x"}, 17, true)
	if err := Remove(home, "x"); err != nil {
		t.Fatal(err)
	}
	acked := runSessions(t, home, c, []string{"x"}, 6, false)
	crashed := copyHome(t, home)
	closeCommitter(t, c)
	c2 := openCommitter(t, crashed)
	defer closeCommitter(t, c2)
	s, err := Open(crashed, "x", WithCommitter(c2))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkSteps(t, s, acked["x"])
	if n := len(stepsOf(t, s)); n != 6 {
		t.Fatalf("%d steps, want the new incarnation's 6", n)
	}
}

func TestCommitLogDecode(t *testing.T) {
	rec := appendCommitRecord(nil, "id1", "sess", 42, []byte("line\n"))
	log := append([]byte(commitMagic), rec...)
	log = append(log, appendCommitRecord(nil, "id1", "sess", 47, []byte("next\n"))...)
	// A long last record: a crash leaves some of its sectors unwritten
	// (zeros, as the file was written with zeros ahead of use).
	long := append(bytes.Clone(log), appendCommitRecord(nil, "id1", "sess", 52, append(bytes.Repeat([]byte("x"), 3000), '\n'))...)
	long = append(long, make([]byte, 1024)...)
	unwritten := bytes.Clone(long)
	clear(unwritten[1024:1536])
	tests := []struct {
		name     string
		in       []byte
		recs     int
		torn     int
		wantErr  bool
		firstOff int64
	}{
		{"long record with trailing zeros", long, 3, 0, false, 42},
		{"long record with an unwritten sector", unwritten, 2, len(long) - len(log), false, 42},
		{"long record past the end of the file", long[:len(log)+1000], 2, 1000, false, 42},
		{"long record damaged, every sector written", flip(long, 2000), 0, 0, true, 0},
		{"two records", log, 2, 0, false, 42},
		{"empty file", nil, 0, 0, false, 0},
		{"magic only", []byte(commitMagic), 0, 0, false, 0},
		{"short magic", []byte("weft"), 0, 4, false, 0},
		{"bad magic", []byte("notalog!xxxx"), 0, 0, true, 0},
		{"torn header", log[:len(log)-len(rec)+3], 1, 3, false, 42},
		{"torn body", log[:len(log)-2], 1, len(rec) - 2, false, 42},
		{"flipped byte (corruption, not a torn write)", flip(log, len(log)-3), 0, 0, true, 0},
		{"flipped byte in an earlier record", flip(log, len(commitMagic)+recHeaderLen+3), 0, 0, true, 0},
		{"bad kind", append([]byte(commitMagic), reframe(rec, func(b []byte) { b[0] = 9 })...), 0, 0, true, 0},
		{"bad name", append([]byte(commitMagic), appendCommitRecord(nil, "id", "../x", 0, []byte("l\n"))...), 0, 0, true, 0},
		{"no data", append([]byte(commitMagic), appendCommitRecord(nil, "id", "x", 0, nil)...), 0, 0, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, torn, err := decodeCommitLog(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if len(recs) != tc.recs || torn != tc.torn {
				t.Fatalf("%d records, %d torn; want %d, %d", len(recs), torn, tc.recs, tc.torn)
			}
			if len(recs) > 0 && (recs[0].off != tc.firstOff || recs[0].name != "sess" || recs[0].id != "id1" || string(recs[0].data) != "line\n") {
				t.Fatalf("first record %+v", recs[0])
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0x40
	return b
}

// reframe changes a record's body and recomputes its frame.
func reframe(rec []byte, change func(body []byte)) []byte {
	out := bytes.Clone(rec)
	change(out[recHeaderLen:])
	frame(out)
	return out
}

func FuzzCommitLog(f *testing.F) {
	log := append([]byte(commitMagic), appendCommitRecord(nil, "id1", "sess", 42, []byte("line\n"))...)
	f.Add(log)
	f.Add(log[:len(log)-1])
	f.Add([]byte(commitMagic))
	f.Add([]byte(fmt.Sprintf("%s\x05\x00\x00\x00\x00\x00\x00\x00\x01\x00", commitMagic)))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, torn, err := decodeCommitLog(b)
		if err != nil {
			return
		}
		if torn < 0 || torn > len(b) {
			t.Fatalf("torn %d of %d bytes", torn, len(b))
		}
		// What decodes re-encodes to the same bytes.
		out := []byte(commitMagic)
		for _, r := range recs {
			if !ValidName(r.name) || r.id == "" || len(r.data) == 0 || r.off < 0 {
				t.Fatalf("invalid record accepted: %+v", r)
			}
			out = appendCommitRecord(out, r.id, r.name, r.off, r.data)
		}
		// Records are followed by zeros only (a file written with zeros
		// ahead of use), up to the torn part.
		if rest := b[:len(b)-torn]; len(rest) >= len(commitMagic) && !allZero(rest[:len(commitMagic)]) &&
			(len(rest) < len(out) || !bytes.Equal(out, rest[:len(out)]) || !allZero(rest[len(out):])) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// TestCommitterBufferedSteps: a buffered step is written with the next
// durable one, or at Close; a failed commit drops it with the step.
func TestCommitterBufferedSteps(t *testing.T) {
	home := t.TempDir()
	c := openCommitter(t, home)
	defer closeCommitter(t, c)
	s, err := Open(home, "b", WithCommitter(c))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	onDisk := func() int {
		snap, err := Read(home, "b")
		if err != nil {
			t.Fatal(err)
		}
		return len(snap.Steps)
	}
	steps := []struct {
		name     string
		do       func() error
		inMemory int
		onDisk   int
	}{
		{"buffered", func() error { _, err := s.AppendBuffered(ctx, UserMessage("q")); return err }, 1, 0},
		{"buffered again", func() error {
			_, err := s.AppendBuffered(ctx, ModelResponse("m", Message{Content: "a"}, Usage{}))
			return err
		}, 2, 0},
		{"durable", func() error { _, err := s.Append(ctx, FinalAnswer("a")); return err }, 3, 3},
		{"buffered before close", func() error { _, err := s.AppendBuffered(ctx, UserMessage("q2")); return err }, 4, 3},
		{"close", s.Close, 4, 4},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if n := len(stepsOf(t, s)); n != st.inMemory {
			t.Fatalf("%s: %d steps in the session, want %d", st.name, n, st.inMemory)
		}
		if n := onDisk(); n != st.onDisk {
			t.Fatalf("%s: %d steps in the journal file, want %d", st.name, n, st.onDisk)
		}
	}
}

// TestCommitLogCorruptionReported: damage a crash cannot explain stops the
// replay with ErrCorrupt naming the file (and the session, when the record
// still says which); nothing is replayed or removed.
func TestCommitLogCorruptionReported(t *testing.T) {
	home := t.TempDir()
	c := openCommitter(t, home)
	runSessions(t, home, c, []string{"a"}, 3, false)
	crashed := copyHome(t, home)
	closeCommitter(t, c)
	dir := commitDir(crashed)
	gens, err := listGens(dir)
	if err != nil || len(gens) == 0 {
		t.Fatalf("gens %v, %v", gens, err)
	}
	var live uint64 // the generation holding the records
	var logBytes []byte
	for _, g := range gens {
		b, err := os.ReadFile(filepath.Join(dir, genName(g)))
		if err != nil {
			t.Fatal(err)
		}
		if recs, _, err := decodeCommitLog(b); err == nil && len(recs) > 0 {
			live, logBytes = g, b
		}
	}
	if logBytes == nil {
		t.Fatal("no records in the commit log")
	}
	first := len(commitMagic) + recHeaderLen + 40 // inside the first record's data
	tests := []struct {
		name   string
		damage func(t *testing.T)
		want   []string
	}{
		{"flipped byte in an acknowledged record", func(t *testing.T) {
			writeFile(t, filepath.Join(dir, genName(live)), flip(logBytes, first))
		}, []string{genName(live), "session a's journal"}},
		{"torn end of a file followed by a newer one", func(t *testing.T) {
			writeFile(t, filepath.Join(dir, genName(live)), logBytes[:first])
			writeFile(t, filepath.Join(dir, genName(live+1)), logBytes)
		}, []string{genName(live), genName(live + 1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, g := range gens {
				writeFile(t, filepath.Join(dir, genName(g)), nil)
			}
			tc.damage(t)
			_, err := OpenCommitter(context.Background(), crashed)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err %v, want ErrCorrupt", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if _, err := Open(crashed, "a"); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open without a committer: %v, want ErrCorrupt", err)
			}
			if left, _ := listGens(dir); len(left) < len(gens) {
				t.Fatalf("log files removed after a failed replay: %v", left)
			}
		})
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCommitterBufferedStepsAtCloseSurviveReplay: the buffered steps Close
// writes are in the commit log, so a replay after a crash keeps them.
func TestCommitterBufferedStepsAtCloseSurviveReplay(t *testing.T) {
	home := t.TempDir()
	c := openCommitter(t, home)
	s, err := Open(home, "b", WithCommitter(c))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Append(ctx, UserMessage("q")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendBuffered(ctx, FinalAnswer("a")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	crashed := copyHome(t, home) // the daemon dies before its committer closes
	closeCommitter(t, c)
	r, err := Open(crashed, "b")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if st := stepsOf(t, r); len(st) != 2 || st[1].Type != FinalAnswer("a").Type {
		t.Fatalf("steps after the replay: %+v, want the user message and the buffered final answer", st)
	}
}

// TestCommitterBufferedStepsAtCloseAfterFailure: when the committer has
// failed, Close reports the buffered steps it could not make durable and
// leaves them out of the journal.
func TestCommitterBufferedStepsAtCloseAfterFailure(t *testing.T) {
	home := t.TempDir()
	c := openCommitter(t, home)
	s, err := Open(home, "b", WithCommitter(c))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Append(ctx, UserMessage("q")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendBuffered(ctx, FinalAnswer("a")); err != nil {
		t.Fatal(err)
	}
	c.fail(errors.New("disk gone"))
	if err := s.Close(); err == nil || !strings.Contains(err.Error(), "buffered steps dropped") {
		t.Fatalf("Close: %v, want the buffered steps reported dropped", err)
	}
	if err := c.Close(ctx); err == nil {
		t.Fatal("a failed committer closed without error")
	}
	r, err := Open(home, "b")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if st := stepsOf(t, r); len(st) != 1 {
		t.Fatalf("steps: %+v, want only the durable one", st)
	}
}

// TestReplayKeepsStepsWrittenAfterClose: a session the daemon closed may
// be written on its own while the daemon runs (weft); a replay after the
// daemon crashes restores the logged range and keeps those steps, but cuts
// an unacknowledged tail that is not whole records.
func TestReplayKeepsStepsWrittenAfterClose(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		tail  []byte // appended to the journal before the crash
		steps int
	}{
		{"steps appended alone", nil, 3},
		{"torn unacknowledged tail", []byte(`{"seq":3,"time":"2026-`), 2},
		{"unwritten blocks then a line", append(make([]byte, 100), []byte("x\n")...), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			c := openCommitter(t, home)
			s, err := Open(home, "w", WithCommitter(c))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Append(ctx, UserMessage("q")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Append(ctx, FinalAnswer("a")); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if tc.tail == nil {
				alone, err := Open(home, "w") // beside the running committer
				if err != nil {
					t.Fatal(err)
				}
				if _, err := alone.Append(ctx, UserMessage("again")); err != nil {
					t.Fatal(err)
				}
				alone.Close()
			} else {
				f, err := os.OpenFile(journalPath(home, "w"), os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.Write(tc.tail)
				f.Close()
			}
			crashed := copyHome(t, home)
			closeCommitter(t, c)
			if gens, _ := listGens(commitDir(crashed)); len(gens) == 0 {
				t.Fatal("no commit log to replay")
			}
			r, err := Open(crashed, "w")
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if n := len(stepsOf(t, r)); n != tc.steps {
				t.Fatalf("%d steps after the replay, want %d", n, tc.steps)
			}
		})
	}
}
