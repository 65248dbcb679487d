package session

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFork(t *testing.T) {
	home := t.TempDir()
	ctx := context.Background()
	s, err := Open(home, "src")
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, script()...)
	n := uint64(len(script()))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	src, err := Read(home, "src")
	if err != nil {
		t.Fatal(err)
	}

	sum, err := Fork(ctx, home, "src", "all", 0)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Name != "all" || sum.Steps != n || sum.Status != src.State.Status {
		t.Fatalf("fork summary %+v", sum)
	}
	all, err := Read(home, "all")
	if err != nil {
		t.Fatal(err)
	}
	for i := range all.Steps {
		a, b := all.Steps[i], src.Steps[i]
		if a.Seq != b.Seq || !a.Time.Equal(b.Time) || a.Type != b.Type || !bytes.Equal(a.Data, b.Data) {
			t.Fatalf("step %d differs: %+v vs %+v", i, a, b)
		}
	}

	// A fork up to a step, continued on its own.
	if _, err := Fork(ctx, home, "src", "early", 2); err != nil {
		t.Fatal(err)
	}
	e, err := Open(home, "early")
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, e, ModelResponse("m", Message{Content: "done"}, Usage{}), FinalAnswer("done"))
	if st := e.Resume(); st.Status != StatusCompleted || st.LastSeq != 4 {
		t.Fatalf("continued fork: %+v", st)
	}
	e.Close()
	if again, _ := Read(home, "src"); again.State.LastSeq != n {
		t.Fatalf("the source changed: %d steps", again.State.LastSeq)
	}

	for _, tc := range []struct {
		from, to string
		upTo     uint64
		want     error
	}{
		{"src", "all", 0, ErrExists},
		{"src", "x", n + 1, ErrInvalidStep},
		{"nosuch", "y", 0, ErrNotFound},
		{"src", "../evil", 0, ErrInvalidName},
	} {
		if _, err := Fork(ctx, home, tc.from, tc.to, tc.upTo); !errors.Is(err, tc.want) {
			t.Errorf("Fork(%s→%s, %d) = %v, want %v", tc.from, tc.to, tc.upTo, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(home, Dir, "x")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused fork left a session behind: %v", err)
	}
}

func TestWriteJournal(t *testing.T) {
	home := t.TempDir()
	s, err := Open(home, "j")
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, script()...)
	s.Close()
	path := filepath.Join(home, Dir, "j", JournalFile)
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A torn final record is not exported.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"seq":99,"ty`)
	f.Close()
	var buf bytes.Buffer
	if _, err := WriteJournal(home, "j", &buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("exported journal differs from the stored one")
	}
	// A damaged record fails the export rather than passing it on.
	bad := bytes.Replace(want, []byte(`"seq":2`), []byte(`"seq":3`), 1)
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteJournal(home, "j", &buf); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged journal exported: %v", err)
	}
	if _, err := WriteJournal(home, "nosuch", &buf); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing session: %v", err)
	}
}
