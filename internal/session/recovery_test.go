package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func journalPath(home, name string) string { return filepath.Join(home, Dir, name, JournalFile) }

// TestTornFinalLine cuts the last record at every byte offset: Read skips
// the torn bytes without changing the file, Open truncates them, reports
// how many, and the session accepts new steps after the good prefix.
func TestTornFinalLine(t *testing.T) {
	home := t.TempDir()
	s, err := Open(home, "torn", WithClock(fakeClock()))
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, script()...)
	s.Close()
	full, err := os.ReadFile(journalPath(home, "torn"))
	if err != nil {
		t.Fatal(err)
	}
	good := bytes.LastIndexByte(full[:len(full)-1], '\n') + 1
	for cut := good + 1; cut < len(full); cut++ {
		if err := os.WriteFile(journalPath(home, "torn"), full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		snap, err := Read(home, "torn")
		if err != nil {
			t.Fatalf("cut %d: Read: %v", cut, err)
		}
		if snap.TornBytes != int64(cut-good) || len(snap.Steps) != 5 {
			t.Fatalf("cut %d: Read torn %d steps %d", cut, snap.TornBytes, len(snap.Steps))
		}
		if fi, _ := os.Stat(journalPath(home, "torn")); fi.Size() != int64(cut) {
			t.Fatalf("cut %d: Read changed the file", cut)
		}
		var logs bytes.Buffer
		s, err := Open(home, "torn", WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err != nil {
			t.Fatalf("cut %d: Open: %v", cut, err)
		}
		if got := s.Recovered().TornBytes; got != int64(cut-good) {
			t.Fatalf("cut %d: recovered %d torn bytes, want %d", cut, got, cut-good)
		}
		if !strings.Contains(logs.String(), "torn") {
			t.Fatalf("cut %d: truncation not logged: %q", cut, logs.String())
		}
		st := s.Resume()
		if st.LastSeq != 5 || len(st.Pending) != 0 || len(st.NotStarted) != 2 {
			t.Fatalf("cut %d: state %+v", cut, st)
		}
		// The lost step can be written again and lands after the good prefix.
		mustAppend(t, s, ToolCallStarted(callB))
		s.Close()
		again, err := os.ReadFile(journalPath(home, "torn"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again[:good], full[:good]) || bytes.Count(again, []byte("\n")) != 6 {
			t.Fatalf("cut %d: journal after rewrite:\n%s", cut, again)
		}
	}
}

func TestCorruptJournal(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(lines []string) []string
	}{
		{"garbage line", func(l []string) []string { l[2] = "not json"; return l }},
		{"zeroed line", func(l []string) []string { l[1] = strings.Repeat("\x00", len(l[1])); return l }},
		{"seq gap", func(l []string) []string { return append(l[:2], l[3:]...) }},
		{"seq repeated", func(l []string) []string { return append(l[:3], l[2:]...) }},
		{"two values", func(l []string) []string { l[0] += " {}"; return l }},
		{"completion before start", func(l []string) []string {
			l[3], l[4] = l[4], l[3]
			return l
		}},
		{"unknown type", func(l []string) []string { l[1] = strings.Replace(l[1], "model_request", "dream", 1); return l }},
		{"huge line", func(l []string) []string { l[1] = strings.Repeat("x", MaxRecordSize+1); return l }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			s, err := Open(home, "c", WithClock(fakeClock()))
			if err != nil {
				t.Fatal(err)
			}
			mustAppend(t, s, script()...)
			s.Close()
			data, err := os.ReadFile(journalPath(home, "c"))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
			for i := range lines {
				lines[i] = strings.TrimSuffix(lines[i], "\n")
			}
			bad := strings.Join(tt.mutate(lines), "\n") + "\n"
			if err := os.WriteFile(journalPath(home, "c"), []byte(bad), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(home, "c"); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: %v, want ErrCorrupt", err)
			}
			if _, err := Read(home, "c"); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Read: %v, want ErrCorrupt", err)
			}
			after, _ := os.ReadFile(journalPath(home, "c"))
			if string(after) != bad {
				t.Fatal("a corrupt journal was modified")
			}
			// The lock was released on the failed Open.
			if err := Remove(home, "c"); err != nil {
				t.Fatalf("Remove after failed Open: %v", err)
			}
		})
	}
}

func TestListAndRemove(t *testing.T) {
	home := t.TempDir()
	if list, errs := List(home); len(list) != 0 || len(errs) != 0 {
		t.Fatalf("List of a fresh home: %v %v", list, errs)
	}
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	mk := func(name string, offset time.Duration, steps ...Step) {
		now := base.Add(offset)
		s, err := Open(home, name, WithClock(func() time.Time { now = now.Add(time.Second); return now }))
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, s, steps...)
		s.Close()
	}
	mk("empty", 0)
	mk("done", time.Hour, UserMessage("hi"), FinalAnswer("hello"))
	mk("failed", 2*time.Hour, UserMessage("hi"), Error("x", "boom"))
	mk("running", 3*time.Hour, script()...)
	// Noise that List must skip or report.
	if err := os.MkdirAll(filepath.Join(home, Dir, ".removing-x-1"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, Dir, "stray-file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	mk("broken", 4*time.Hour, UserMessage("hi"))
	if err := os.WriteFile(journalPath(home, "broken"), []byte("{oops}\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	list, errs := List(home)
	if len(errs) != 1 || !errors.Is(errs[0], ErrCorrupt) {
		t.Errorf("errors %v, want one ErrCorrupt", errs)
	}
	var got []string
	for _, s := range list {
		got = append(got, fmt.Sprintf("%s:%s:%d:%d", s.Name, s.Status, s.Steps, s.Pending))
	}
	want := "running:in_progress:6:1 failed:failed:2:0 done:completed:2:0 empty:empty:0:0"
	if strings.Join(got, " ") != want {
		t.Errorf("List = %v\nwant %s", got, want)
	}
	for _, s := range list {
		if s.Created.IsZero() || s.Updated.Before(s.Created) {
			t.Errorf("%s: created %v updated %v", s.Name, s.Created, s.Updated)
		}
	}

	if err := Remove(home, "done"); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(home, "done"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Read after Remove: %v", err)
	}
	if err := Remove(home, "done"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove: %v", err)
	}
	if err := Remove(home, "../outside"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Remove of a path: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(home, Dir))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".removing-done") {
			t.Errorf("tombstone %s left behind", e.Name())
		}
	}
	// A removed name can be reused and starts empty.
	s, err := Open(home, "done")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := len(stepsOf(t, s)); n != 0 {
		t.Errorf("reused name has %d steps", n)
	}
}

func TestAppendAfterWriteFailure(t *testing.T) {
	home := t.TempDir()
	s, err := Open(home, "f")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustAppend(t, s, UserMessage("hi"))
	// Make the next write fail by closing the file under the session.
	s.mu.Lock()
	s.f.Close()
	s.mu.Unlock()
	if _, err := s.Append(context.Background(), FinalAnswer("x")); err == nil {
		t.Fatal("Append on a closed file succeeded")
	}
	if _, err := s.Append(context.Background(), FinalAnswer("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after a failed write: %v, want ErrClosed", err)
	}
	if n := len(stepsOf(t, s)); n != 1 {
		t.Fatalf("%d steps after failed write, want 1", n)
	}
}

func FuzzScan(f *testing.F) {
	for _, name := range []string{"journal.golden", "journal.v1.golden"} {
		if data, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(data, uint8(0))
			f.Add(data, uint8(1))
			f.Add(data[:len(data)-7], uint8(1))
		}
	}
	f.Add([]byte(`{"seq":1,"time":"2026-01-01T00:00:00Z","type":"user_message","data":{"content":"x"}}`+"\n"), uint8(0))
	f.Add([]byte("\n\n"), uint8(1))
	f.Add([]byte(`{"seq":1,"type":"tool_call_completed","data":{"id":"a","name":"b"}}`+"\n"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		fm := FormatPlain + int(format%2)
		res, err := scan(bytes.NewReader(data), "fuzz", fm, true)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		if res.good+res.torn != int64(len(data)) {
			t.Fatalf("good %d + torn %d != %d", res.good, res.torn, len(data))
		}
		if bytes.IndexByte(data[res.good:], '\n') >= 0 {
			t.Fatal("torn tail contains a newline")
		}
		// The good prefix rescans to the same steps with nothing torn.
		again, err := scan(bytes.NewReader(data[:res.good]), "fuzz", fm, true)
		if err != nil || again.torn != 0 || len(again.steps) != len(res.steps) {
			t.Fatalf("rescan of good prefix: %v torn %d steps %d/%d", err, again.torn, len(again.steps), len(res.steps))
		}
		st := res.replay.state()
		if st.LastSeq != uint64(len(res.steps)) {
			t.Fatalf("LastSeq %d with %d steps", st.LastSeq, len(res.steps))
		}
		for _, p := range st.Pending {
			if _, done := st.Completed[p.ID]; done {
				t.Fatalf("call %q both pending and completed", p.ID)
			}
		}
	})
}
