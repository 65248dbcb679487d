package recfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

const magic = "TESTREC1"

func write(t *testing.T, path string, recs ...string) {
	t.Helper()
	f, got, _, err := Open(path, magic)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("fresh file has %d records", len(got))
	}
	for _, r := range recs {
		if err := f.Append([]byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTripAndReopenAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.rec")
	write(t, path, "a", "", "ccc")
	f, recs, cut, err := Open(path, magic)
	if err != nil || cut != 0 {
		t.Fatal(err, cut)
	}
	if fmt.Sprintf("%q", recs) != `["a" "" "ccc"]` {
		t.Fatalf("records %q", recs)
	}
	if err := f.Append([]byte("d")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	_, recs, _, err = Open(path, magic)
	if err != nil || len(recs) != 4 || string(recs[3]) != "d" {
		t.Fatalf("after reopen: %q %v", recs, err)
	}
}

// TestTornTailAtEveryOffset cuts the file at every length: opening keeps
// exactly the complete frames and the next append lands after them.
func TestTornTailAtEveryOffset(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.rec")
	write(t, full, "first", "second", "third")
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	ends := []int{magicLen, magicLen + frameHdr + 5, magicLen + 2*frameHdr + 11, len(data)}
	for n := 0; n <= len(data); n++ {
		path := filepath.Join(dir, fmt.Sprintf("cut%d.rec", n))
		if err := os.WriteFile(path, data[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		f, recs, cut, err := Open(path, magic)
		if err != nil {
			t.Fatalf("cut at %d: %v", n, err)
		}
		want := 0
		for i, e := range ends[1:] {
			if n >= e {
				want = i + 1
			}
		}
		if len(recs) != want {
			t.Fatalf("cut at %d: %d records, want %d", n, len(recs), want)
		}
		if n > magicLen && cut != int64(n-ends[want]) {
			t.Fatalf("cut at %d: truncated %d, want %d", n, cut, n-ends[want])
		}
		if err := f.Append([]byte("next")); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		_, recs, _, err = Open(path, magic)
		if err != nil || len(recs) != want+1 || string(recs[want]) != "next" {
			t.Fatalf("cut at %d, reopened: %q %v", n, recs, err)
		}
	}
}

func TestCorruptionIsNotRepaired(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.rec")
	write(t, path, "first", "second")
	data, _ := os.ReadFile(path)
	bad := bytes.Clone(data)
	bad[magicLen+frameHdr+1] ^= 0xff // inside the first body: not the tail
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := Open(path, magic); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("mid-file damage: %v, want ErrCorrupt", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, bad) {
		t.Fatal("a corrupt file was modified")
	}
	bad = bytes.Clone(data)
	bad[magicLen+1] ^= 0x01 // the first frame's length: not taken for a torn tail
	if _, _, err := Decode(bad, magic); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged length: %v", err)
	}
	zeros := append(bytes.Clone(data), make([]byte, 40)...)
	if recs, valid, err := Decode(zeros, magic); err != nil || len(recs) != 2 || valid != len(data) {
		t.Fatalf("zero-filled tail: %d records, valid %d, %v", len(recs), valid, err)
	}
	if _, _, err := Decode([]byte("WRONGMAG"), magic); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("bad magic: %v", err)
	}
	huge := AppendFrame([]byte(magic), nil)
	huge[magicLen+3], huge[magicLen+7] = 0x7f, 0x80
	if _, _, err := Decode(huge, magic); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("oversized length: %v", err)
	}
}

func TestRewriteCompacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.rec")
	write(t, path, "a", "b", "c")
	f, _, _, err := Open(path, magic)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Rewrite([][]byte{[]byte("abc")}); err != nil {
		t.Fatal(err)
	}
	if err := f.Append([]byte("d")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	_, recs, _, err := Open(path, magic)
	if err != nil || fmt.Sprintf("%q", recs) != `["abc" "d"]` {
		t.Fatalf("%q %v", recs, err)
	}
	if err := f.Append(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(magic))
	f.Add(AppendFrame(AppendFrame([]byte(magic), []byte("x")), []byte("yz")))
	f.Add([]byte("TESTR"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, valid, err := Decode(data, magic)
		if valid < 0 || valid > len(data) {
			t.Fatalf("valid %d of %d", valid, len(data))
		}
		if err != nil {
			return
		}
		// Re-encoding the records gives back the valid prefix.
		var out []byte
		if valid >= magicLen {
			out = []byte(magic)
			for _, r := range recs {
				out = AppendFrame(out, r)
			}
		}
		if valid >= magicLen && !bytes.Equal(out, data[:valid]) {
			t.Fatalf("re-encoding differs")
		}
	})
}
