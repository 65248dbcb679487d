package texmex

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	v := Vectors{Dim: 3, Data: []float32{1, 2, 3, -4, 5.5, 0}}
	var b bytes.Buffer
	if err := WriteFvecs(&b, v); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 2*(4+12) {
		t.Fatalf("encoded %d bytes", b.Len())
	}
	got, err := ReadFvecs(bytes.NewReader(b.Bytes()), 0)
	if err != nil || got.Dim != 3 || !slices.Equal(got.Data, v.Data) {
		t.Fatalf("ReadFvecs = %+v, %v", got, err)
	}
	one, err := ReadFvecs(bytes.NewReader(b.Bytes()), 1)
	if err != nil || one.Len() != 1 || !slices.Equal(one.At(0), []float32{1, 2, 3}) {
		t.Fatalf("ReadFvecs limit 1 = %+v, %v", one, err)
	}
	iv := Ints{Dim: 2, Data: []int32{7, -1, 3, 99}}
	b.Reset()
	if err := WriteIvecs(&b, iv); err != nil {
		t.Fatal(err)
	}
	gi, err := ReadIvecs(bytes.NewReader(b.Bytes()), 0)
	if err != nil || gi.Dim != 2 || !slices.Equal(gi.Data, iv.Data) || gi.Len() != 2 {
		t.Fatalf("ReadIvecs = %+v, %v", gi, err)
	}
}

func TestGolden(t *testing.T) {
	// testdata/small.fvecs: two 2-d vectors (1, 2) and (3, 4), written by
	// hand from the format description.
	want := []float32{1, 2, 3, 4}
	b, err := os.ReadFile(filepath.Join("testdata", "small.fvecs"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := ReadFvecs(bytes.NewReader(b), 0)
	if err != nil || v.Dim != 2 || !slices.Equal(v.Data, want) {
		t.Fatalf("golden = %+v, %v", v, err)
	}
	var out bytes.Buffer
	if err := WriteFvecs(&out, v); err != nil || !bytes.Equal(out.Bytes(), b) {
		t.Fatalf("re-encoding differs from golden file: %v", err)
	}
}

func TestBvecs(t *testing.T) {
	raw := []byte{3, 0, 0, 0, 0, 128, 255, 3, 0, 0, 0, 1, 2, 3}
	v, err := ReadBvecs(bytes.NewReader(raw), 0)
	if err != nil || !slices.Equal(v.Data, []float32{0, 128, 255, 1, 2, 3}) {
		t.Fatalf("ReadBvecs = %+v, %v", v, err)
	}
}

func rec(dim int32, vals ...float32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(dim))
	for _, f := range vals {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}

func TestMalformed(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
	}{
		{"zero dim", rec(0)},
		{"negative dim", rec(-3, 1, 2, 3)},
		{"huge dim", rec(MaxDim + 1)},
		{"truncated dim", []byte{2, 0}},
		{"truncated record", rec(3, 1, 2)},
		{"dim changes", append(rec(2, 1, 2), rec(3, 1, 2, 3)...)},
		{"nan", rec(2, 1, float32(math.NaN()))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := ReadFvecs(bytes.NewReader(c.in), 0); !errors.Is(err, ErrFormat) {
				t.Fatalf("ReadFvecs = %v, want ErrFormat", err)
			}
		})
	}
	if err := WriteFvecs(&bytes.Buffer{}, Vectors{Dim: 2, Data: []float32{1}}); !errors.Is(err, ErrFormat) {
		t.Fatalf("WriteFvecs ragged = %v", err)
	}
	v, err := ReadFvecs(bytes.NewReader(nil), 0)
	if err != nil || v.Len() != 0 {
		t.Fatalf("empty input = %+v, %v", v, err)
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	base, q, err := GenerateClustered(ClusterConfig{N: 50, Queries: 5, Dim: 8, Clusters: 4, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveFvecs(filepath.Join(dir, "b.fvecs"), base); err != nil {
		t.Fatal(err)
	}
	if err := SaveIvecs(filepath.Join(dir, "g.ivecs"), Ints{Dim: 1, Data: []int32{4, 5}}); err != nil {
		t.Fatal(err)
	}
	got, err := LoadVectors(filepath.Join(dir, "b.fvecs"), 0)
	if err != nil || !slices.Equal(got.Data, base.Data) {
		t.Fatalf("LoadVectors: %v", err)
	}
	gi, err := LoadInts(filepath.Join(dir, "g.ivecs"), 0)
	if err != nil || gi.Len() != 2 {
		t.Fatalf("LoadInts = %+v, %v", gi, err)
	}
	if q.Len() != 5 || q.Dim != 8 {
		t.Fatalf("queries %d×%d", q.Len(), q.Dim)
	}
	if _, err := LoadVectors(filepath.Join(dir, "missing.fvecs"), 0); err == nil {
		t.Fatal("missing file loaded")
	}
}

func TestGenerateDeterministic(t *testing.T) {
	c := ClusterConfig{N: 200, Queries: 10, Dim: 16, Clusters: 10, Seed: 42}
	b1, q1, _ := GenerateClustered(c)
	b2, q2, _ := GenerateClustered(c)
	if !slices.Equal(b1.Data, b2.Data) || !slices.Equal(q1.Data, q2.Data) {
		t.Fatal("same seed gave different data")
	}
	c.Seed = 43
	b3, _, _ := GenerateClustered(c)
	if slices.Equal(b1.Data, b3.Data) {
		t.Fatal("different seeds gave the same data")
	}
	if b1.Len() != 200 || q1.Len() != 10 {
		t.Fatalf("sizes %d %d", b1.Len(), q1.Len())
	}
	if _, _, err := GenerateClustered(ClusterConfig{N: -1}); err == nil {
		t.Fatal("negative N accepted")
	}
}

func FuzzReadFvecs(f *testing.F) {
	f.Add(rec(2, 1, 2))
	f.Add(append(rec(1, 5), rec(1, 6)...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ReadFvecs(bytes.NewReader(data), 0)
		if err != nil {
			return
		}
		// A successful read re-encodes to the same bytes.
		var b bytes.Buffer
		if v.Len() == 0 {
			if len(data) != 0 {
				t.Fatalf("no vectors from %d bytes", len(data))
			}
			return
		}
		if err := WriteFvecs(&b, v); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.Bytes(), data) {
			t.Fatal("round trip changed the bytes")
		}
	})
}

func FuzzReadIvecs(f *testing.F) {
	f.Add(rec(2, 1, 2))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ReadIvecs(bytes.NewReader(data), 0)
		_, _ = ReadBvecs(bytes.NewReader(data), 0)
	})
}
