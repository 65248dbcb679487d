package session

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// installJournal makes session name under home hold data, in format.
func installJournal(t *testing.T, home, name string, data []byte, format int) string {
	t.Helper()
	dir := filepath.Join(home, Dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := writeMeta(dir, Meta{Name: name, Version: format}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, JournalFile)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestJournalDamage: every kind of damage to a complete record is a
// CorruptError naming the file, the step and the offset — a flipped byte
// inside a string (still valid JSON) included; only a torn final line is
// recovered.
func TestJournalDamage(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "journal.golden"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(golden, []byte("\n"))
	lines = lines[:len(lines)-1] // the last element is empty
	offset := func(step int) int64 {
		n := 0
		for _, l := range lines[:step-1] {
			n += len(l)
		}
		return int64(n)
	}
	join := func(ls [][]byte) []byte { return bytes.Join(ls, nil) }
	tests := []struct {
		name   string
		data   func() []byte
		step   int
		reason string
		torn   int64 // for recoverable damage
	}{
		{"flip inside a string", func() []byte {
			return bytes.Replace(golden, []byte("Summarise README.md"), []byte("Summarise README.mD"), 1)
		}, 1, "checksum mismatch", 0},
		{"flip in a key", func() []byte {
			return bytes.Replace(golden, []byte(`"content":"# WeftOS"`), []byte(`"contenu":"# WeftOS"`), 1)
		}, 5, "checksum mismatch", 0},
		{"checksum removed", func() []byte {
			ls := append([][]byte(nil), lines...)
			l := ls[2]
			ls[2] = append(append([]byte(nil), l[:len(l)-crcSuffixLen]...), "}\n"...)
			return join(ls)
		}, 3, "no checksum", 0},
		{"line deleted", func() []byte { return join(append(append([][]byte(nil), lines[:3]...), lines[4:]...)) }, 4, "seq", 0},
		{"lines swapped", func() []byte {
			ls := append([][]byte(nil), lines...)
			ls[4], ls[5] = ls[5], ls[4]
			return join(ls)
		}, 5, "seq", 0},
		{"middle line cut", func() []byte {
			ls := append([][]byte(nil), lines...)
			ls[2] = append(append([]byte(nil), ls[2][:20]...), '\n')
			return join(ls)
		}, 3, "checksum", 0},
		{"torn last line", func() []byte { return golden[:len(golden)-9] }, 0, "", int64(len(lines[len(lines)-1]) - 9)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			path := installJournal(t, home, "s", tc.data(), CurrentFormat)
			snap, rerr := Read(home, "s")
			s, oerr := Open(home, "s")
			if tc.step == 0 {
				if rerr != nil || oerr != nil || snap.TornBytes != tc.torn {
					t.Fatalf("torn tail: read %v, open %v, torn %d (want %d)", rerr, oerr, snap.TornBytes, tc.torn)
				}
				s.Close()
				return
			}
			for _, err := range []error{rerr, oerr} {
				var ce *CorruptError
				if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) {
					t.Fatalf("%v, want a CorruptError", err)
				}
				if ce.File != path || ce.Step != tc.step || ce.Offset != offset(tc.step) || !strings.Contains(ce.Reason, tc.reason) {
					t.Fatalf("%+v, want step %d offset %d %q in %s", ce, tc.step, offset(tc.step), tc.reason, path)
				}
				if !strings.Contains(err.Error(), path) {
					t.Fatalf("the error does not name the file: %v", err)
				}
			}
		})
	}
}

// TestFormat1Upgrade: a session written before checksums reads as it is,
// and is rewritten with checksums when opened for writing; nothing is
// lost and new records carry checksums too.
func TestFormat1Upgrade(t *testing.T) {
	old, err := os.ReadFile(filepath.Join("testdata", "journal.v1.golden"))
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	path := installJournal(t, home, "old", old, FormatPlain)
	before, err := Read(home, "old")
	if err != nil || len(before.Steps) != 8 {
		t.Fatalf("reading a format-1 session: %v %d", err, len(before.Steps))
	}
	// A checksum-less line is fine in format 1, but not in format 2.
	if _, err := scan(bytes.NewReader(old), path, CurrentFormat, false); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("format-1 line in a format-2 journal: %v", err)
	}
	s, err := Open(home, "old", WithClock(fakeClock()))
	if err != nil {
		t.Fatal(err)
	}
	if s.Meta().Version != CurrentFormat {
		t.Fatalf("meta version %d", s.Meta().Version)
	}
	mustAppend(t, s, UserMessage("after the upgrade"))
	s.Close()
	data, _ := os.ReadFile(path)
	if n := bytes.Count(data, []byte(`"crc":"`)); n != 9 {
		t.Fatalf("%d records with checksums, want 9:\n%s", n, data)
	}
	after, err := Read(home, "old")
	if err != nil || len(after.Steps) != 9 {
		t.Fatalf("after the upgrade: %v %d", err, len(after.Steps))
	}
	for i, st := range before.Steps {
		if st.Seq != after.Steps[i].Seq || st.Type != after.Steps[i].Type || !bytes.Equal(st.Data, after.Steps[i].Data) {
			t.Fatalf("step %d changed in the upgrade", i+1)
		}
	}
}
