package hnsw

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, d := range []Distance{L2, Cosine, Dot} {
		t.Run(d.String(), func(t *testing.T) {
			data := randomVectors(3, 600, 16, 8)
			x := buildIndex(t, Config{Dim: 16, Distance: d, M: 8, EfConstruction: 64, Ef: 32, Seed: 11}, data)
			for i := 0; i < 600; i += 7 {
				if err := x.Delete(uint64(i)); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(t.TempDir(), "idx.hnsw")
			if err := x.Save(path); err != nil {
				t.Fatal(err)
			}
			y, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if x.Stats().Nodes != y.Stats().Nodes || x.Len() != y.Len() || y.Stats().Deleted != x.Stats().Deleted {
				t.Fatalf("stats differ: %+v vs %+v", x.Stats(), y.Stats())
			}
			if y.Config() != x.Config() {
				t.Fatalf("config differs: %+v vs %+v", y.Config(), x.Config())
			}
			for _, q := range randomVectors(4, 50, 16, 8) {
				a, err1 := x.Search(q, 10)
				b, err2 := y.Search(q, 10)
				if err1 != nil || err2 != nil || !slices.Equal(a, b) {
					t.Fatalf("results differ after load:\n%v\n%v", a, b)
				}
			}
			// The file is byte-for-byte stable: saving the loaded index
			// gives the same bytes.
			var b1, b2 bytes.Buffer
			if _, err := x.WriteTo(&b1); err != nil {
				t.Fatal(err)
			}
			if _, err := y.WriteTo(&b2); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
				t.Fatal("re-encoding the loaded index changed the bytes")
			}
			// The loaded index accepts new inserts.
			if err := y.Insert(10_000, data[0]); err != nil {
				t.Fatal(err)
			}
			got, err := y.Search(data[0], 1)
			if err != nil || len(got) != 1 || (got[0].Label != 10_000 && got[0].Label != 0) {
				t.Fatalf("search after insert into loaded index: %v %v", got, err)
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != 1 {
				t.Fatalf("temporary files left behind: %v", entries)
			}
		})
	}
}

func TestSaveEmpty(t *testing.T) {
	x, _ := New(Config{Dim: 4})
	var b bytes.Buffer
	if _, err := x.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	y, err := Read(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if y.Len() != 0 {
		t.Fatalf("Len = %d", y.Len())
	}
	if err := y.Insert(1, []float32{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
}

func encodedIndex(t testing.TB) []byte {
	t.Helper()
	x := buildIndex(t, Config{Dim: 4, M: 4, EfConstruction: 16, Seed: 1}, randomVectors(5, 40, 4, 3))
	_ = x.Delete(3)
	var b bytes.Buffer
	if _, err := x.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLoadRejectsCorruption(t *testing.T) {
	good := encodedIndex(t)
	cases := []struct {
		name string
		mut  func([]byte) []byte
		want error
	}{
		{"truncated header", func(b []byte) []byte { return b[:30] }, ErrCorrupt},
		{"truncated body", func(b []byte) []byte { return b[:len(b)-9] }, ErrCorrupt},
		{"trailing bytes", func(b []byte) []byte { return append(b, 0) }, ErrCorrupt},
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }, ErrCorrupt},
		{"header bit flip", func(b []byte) []byte { b[17] ^= 1; return b }, ErrCorrupt},
		{"vector bit flip", func(b []byte) []byte { b[headerSize+5] ^= 0x40; return b }, ErrCorrupt},
		{"last byte flip", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, ErrCorrupt},
		{"version", func(b []byte) []byte {
			b[8] = 9
			return resum(b)
		}, ErrVersion},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.mut(slices.Clone(good))
			_, err := Read(bytes.NewReader(b), int64(len(b)))
			if !errors.Is(err, c.want) {
				t.Fatalf("Read = %v, want %v", err, c.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}

// resum recomputes the header checksum after a test edited the header.
func resum(b []byte) []byte {
	c := crc32Castagnoli(b[:60])
	b[60], b[61], b[62], b[63] = byte(c), byte(c>>8), byte(c>>16), byte(c>>24)
	return b
}

func FuzzRead(f *testing.F) {
	f.Add(encodedIndex(f))
	x, _ := New(Config{Dim: 2})
	var b bytes.Buffer
	_, _ = x.WriteTo(&b)
	f.Add(b.Bytes())
	f.Add([]byte(fileMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, fix := range []bool{false, true} {
			in := data
			if fix && len(in) >= headerSize {
				// Also explore inputs whose header checksum is valid.
				in = resum(slices.Clone(in))
			}
			y, err := Read(bytes.NewReader(in), int64(len(in)))
			if err != nil {
				continue
			}
			// A file that loads must be usable.
			q := make([]float32, y.Config().Dim)
			q[0] = 1
			if _, err := y.Search(q, 3); err != nil {
				t.Fatalf("search on loaded index: %v", err)
			}
		}
	})
}
