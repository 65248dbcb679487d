// Package texmex reads and writes the TEXMEX vector file formats used by
// the SIFT/GIST corpora and ann-benchmarks (.fvecs, .ivecs, .bvecs), and
// generates a synthetic clustered data set in those formats.
//
// Each record is a little-endian int32 dimension d followed by d
// components: float32 (.fvecs), int32 (.ivecs, typically ground-truth
// neighbour ids) or uint8 (.bvecs). Every record of a file has the same d.
package texmex

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// ErrFormat reports malformed input: a bad or inconsistent dimension, or a
// truncated record.
var ErrFormat = errors.New("texmex: malformed file")

// MaxDim is the largest dimension accepted by the readers.
const MaxDim = 1 << 16

// Vectors is a set of float32 vectors stored row-major.
type Vectors struct {
	Dim  int
	Data []float32
}

// Len returns the number of vectors.
func (v Vectors) Len() int {
	if v.Dim == 0 {
		return 0
	}
	return len(v.Data) / v.Dim
}

// At returns vector i (a sub-slice, not a copy).
func (v Vectors) At(i int) []float32 { return v.Data[i*v.Dim : (i+1)*v.Dim : (i+1)*v.Dim] }

// Ints is a set of int32 vectors stored row-major (for example the ids of
// each query's true nearest neighbours).
type Ints struct {
	Dim  int
	Data []int32
}

// Len returns the number of rows.
func (v Ints) Len() int {
	if v.Dim == 0 {
		return 0
	}
	return len(v.Data) / v.Dim
}

// At returns row i (a sub-slice, not a copy).
func (v Ints) At(i int) []int32 { return v.Data[i*v.Dim : (i+1)*v.Dim : (i+1)*v.Dim] }

// readRecords reads records of elemSize-byte components, calling put with
// each record's raw component bytes. It stops after limit records when
// limit > 0 and returns the dimension.
func readRecords(r io.Reader, elemSize, limit int, put func([]byte)) (int, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	dim := 0
	var hdr [4]byte
	var buf []byte
	for n := 0; limit <= 0 || n < limit; n++ {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if err == io.EOF {
				return dim, nil
			}
			return dim, fmt.Errorf("%w: record %d: truncated dimension", ErrFormat, n)
		}
		d := int32(binary.LittleEndian.Uint32(hdr[:]))
		if d <= 0 || d > MaxDim {
			return dim, fmt.Errorf("%w: record %d: dimension %d", ErrFormat, n, d)
		}
		if dim == 0 {
			dim = int(d)
			buf = make([]byte, dim*elemSize)
		} else if int(d) != dim {
			return dim, fmt.Errorf("%w: record %d: dimension %d, earlier records %d", ErrFormat, n, d, dim)
		}
		if _, err := io.ReadFull(br, buf); err != nil {
			return dim, fmt.Errorf("%w: record %d: truncated", ErrFormat, n)
		}
		put(buf)
	}
	return dim, nil
}

// ReadFvecs reads an .fvecs stream: up to limit vectors (all if limit ≤ 0).
// Non-finite components are rejected.
func ReadFvecs(r io.Reader, limit int) (Vectors, error) {
	var out []float32
	bad := false
	dim, err := readRecords(r, 4, limit, func(b []byte) {
		for i := 0; i < len(b); i += 4 {
			f := math.Float32frombits(binary.LittleEndian.Uint32(b[i:]))
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				bad = true
			}
			out = append(out, f)
		}
	})
	if err == nil && bad {
		err = fmt.Errorf("%w: non-finite component", ErrFormat)
	}
	if err != nil {
		return Vectors{}, err
	}
	return Vectors{Dim: dim, Data: out}, nil
}

// ReadBvecs reads a .bvecs stream (uint8 components) into float32 vectors.
func ReadBvecs(r io.Reader, limit int) (Vectors, error) {
	var out []float32
	dim, err := readRecords(r, 1, limit, func(b []byte) {
		for _, c := range b {
			out = append(out, float32(c))
		}
	})
	if err != nil {
		return Vectors{}, err
	}
	return Vectors{Dim: dim, Data: out}, nil
}

// ReadIvecs reads an .ivecs stream: up to limit rows (all if limit ≤ 0).
func ReadIvecs(r io.Reader, limit int) (Ints, error) {
	var out []int32
	dim, err := readRecords(r, 4, limit, func(b []byte) {
		for i := 0; i < len(b); i += 4 {
			out = append(out, int32(binary.LittleEndian.Uint32(b[i:])))
		}
	})
	if err != nil {
		return Ints{}, err
	}
	return Ints{Dim: dim, Data: out}, nil
}

func checkShape(dim, n int) error {
	if dim <= 0 || dim > MaxDim || n%dim != 0 {
		return fmt.Errorf("%w: dimension %d with %d values", ErrFormat, dim, n)
	}
	return nil
}

// WriteFvecs writes v in .fvecs format.
func WriteFvecs(w io.Writer, v Vectors) error {
	if err := checkShape(v.Dim, len(v.Data)); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	rec := make([]byte, 4+4*v.Dim)
	binary.LittleEndian.PutUint32(rec, uint32(v.Dim))
	for i := range v.Len() {
		for j, f := range v.At(i) {
			binary.LittleEndian.PutUint32(rec[4+4*j:], math.Float32bits(f))
		}
		if _, err := bw.Write(rec); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteIvecs writes v in .ivecs format.
func WriteIvecs(w io.Writer, v Ints) error {
	if err := checkShape(v.Dim, len(v.Data)); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	rec := make([]byte, 4+4*v.Dim)
	binary.LittleEndian.PutUint32(rec, uint32(v.Dim))
	for i := range v.Len() {
		for j, x := range v.At(i) {
			binary.LittleEndian.PutUint32(rec[4+4*j:], uint32(x))
		}
		if _, err := bw.Write(rec); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// LoadVectors reads an .fvecs or .bvecs file (chosen by extension), up to
// limit vectors (all if limit ≤ 0).
func LoadVectors(path string, limit int) (Vectors, error) {
	f, err := os.Open(path)
	if err != nil {
		return Vectors{}, fmt.Errorf("texmex: %w", err)
	}
	defer f.Close()
	var v Vectors
	switch strings.ToLower(filepath.Ext(path)) {
	case ".bvecs":
		v, err = ReadBvecs(f, limit)
	default:
		v, err = ReadFvecs(f, limit)
	}
	if err != nil {
		return Vectors{}, fmt.Errorf("texmex: %s: %w", path, err)
	}
	return v, nil
}

// LoadInts reads an .ivecs file, up to limit rows (all if limit ≤ 0).
func LoadInts(path string, limit int) (Ints, error) {
	f, err := os.Open(path)
	if err != nil {
		return Ints{}, fmt.Errorf("texmex: %w", err)
	}
	defer f.Close()
	v, err := ReadIvecs(f, limit)
	if err != nil {
		return Ints{}, fmt.Errorf("texmex: %s: %w", path, err)
	}
	return v, nil
}

// SaveFvecs writes v to path (created or truncated) and fsyncs it.
func SaveFvecs(path string, v Vectors) error {
	return saveFile(path, func(w io.Writer) error { return WriteFvecs(w, v) })
}

// SaveIvecs writes v to path (created or truncated) and fsyncs it.
func SaveIvecs(path string, v Ints) error {
	return saveFile(path, func(w io.Writer) error { return WriteIvecs(w, v) })
}

func saveFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("texmex: %w", err)
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("texmex: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("texmex: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("texmex: %w", err)
	}
	return nil
}
