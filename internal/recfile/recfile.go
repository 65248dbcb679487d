// Package recfile provides a crash-safe append-only file of records: a
// magic header, then frames of (length, its complement, CRC-32C, body). Opening a file
// recovers from a crash by cutting a torn tail (an incomplete frame, or a
// last frame whose checksum does not match); any other damage is reported
// as ErrCorrupt, never repaired silently. Derived indexes (cross-references,
// the causal graph) keep their state in such files.
package recfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// Sentinel errors.
var (
	// ErrCorrupt reports damage other than a torn tail.
	ErrCorrupt = errors.New("recfile: file corrupt")
	// ErrTooLarge reports a record above MaxRecord.
	ErrTooLarge = errors.New("recfile: record too large")
	// ErrClosed reports use of a closed File.
	ErrClosed = errors.New("recfile: closed")
)

// MaxRecord bounds one record's body.
const MaxRecord = 16 << 20

const (
	magicLen = 8
	frameHdr = 12 // uint32 length, its complement, CRC-32C of the body; little endian
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Decode parses a whole file's bytes. It returns the records of every
// complete, valid frame and the length of the valid prefix. A torn tail
// (an incomplete last frame, or a bad checksum on a frame that ends
// exactly at the end of data) is not an error: valid < len(data) says it is
// there. A bad checksum followed by more data, an oversized length or a
// wrong magic is ErrCorrupt.
func Decode(data []byte, magic string) (records [][]byte, valid int, err error) {
	if len(magic) != magicLen {
		return nil, 0, fmt.Errorf("recfile: magic %q is not %d bytes", magic, magicLen)
	}
	if len(data) < magicLen {
		// A file cut before its header was complete holds nothing.
		if string(data) != magic[:len(data)] {
			return nil, 0, fmt.Errorf("%w: bad header", ErrCorrupt)
		}
		return nil, 0, nil
	}
	if string(data[:magicLen]) != magic {
		return nil, 0, fmt.Errorf("%w: bad header %q", ErrCorrupt, data[:magicLen])
	}
	off := magicLen
	for off < len(data) {
		if len(data)-off < frameHdr {
			return records, off, nil // torn frame header
		}
		n := binary.LittleEndian.Uint32(data[off:])
		sum := binary.LittleEndian.Uint32(data[off+8:])
		if binary.LittleEndian.Uint32(data[off+4:]) != ^n {
			if allZero(data[off:]) {
				return records, off, nil // a zero-filled tail: space allocated, never written
			}
			return records, off, fmt.Errorf("%w: damaged frame header at %d", ErrCorrupt, off)
		}
		if n > MaxRecord {
			return records, off, fmt.Errorf("%w: frame at %d claims %d bytes", ErrCorrupt, off, n)
		}
		end := off + frameHdr + int(n)
		if end > len(data) {
			return records, off, nil // torn body
		}
		body := data[off+frameHdr : end]
		if crc32.Checksum(body, castagnoli) != sum {
			if end == len(data) {
				return records, off, nil // torn last frame
			}
			return records, off, fmt.Errorf("%w: checksum mismatch in frame at %d", ErrCorrupt, off)
		}
		records = append(records, body)
		off = end
	}
	return records, off, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// File is an open record file for appending. Appends are buffered; Sync
// makes them durable. Not safe for concurrent use.
type File struct {
	path  string
	magic string
	f     *os.File
	w     *bufio.Writer
	size  int64
}

// Open opens (or creates) the record file at path, returning its records.
// A torn tail is cut (Truncated reports how many bytes); ErrCorrupt leaves
// the file untouched.
func Open(path, magic string) (_ *File, records [][]byte, truncated int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, 0, fmt.Errorf("recfile: %w", err)
	}
	records, valid, err := Decode(data, magic)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("recfile: %w", err)
	}
	if valid < magicLen {
		valid = 0
	}
	if int64(valid) != int64(len(data)) {
		truncated = int64(len(data) - valid)
		if err := f.Truncate(int64(valid)); err != nil {
			f.Close()
			return nil, nil, 0, fmt.Errorf("recfile: cutting a torn tail: %w", err)
		}
	}
	if valid == 0 {
		if _, err := f.WriteAt([]byte(magic), 0); err != nil {
			f.Close()
			return nil, nil, 0, fmt.Errorf("recfile: %w", err)
		}
		valid = magicLen
	}
	if _, err := f.Seek(int64(valid), io.SeekStart); err != nil {
		f.Close()
		return nil, nil, 0, fmt.Errorf("recfile: %w", err)
	}
	return &File{path: path, magic: magic, f: f, w: bufio.NewWriterSize(f, 64<<10), size: int64(valid)}, records, truncated, nil
}

// AppendFrame appends one framed record to b.
func AppendFrame(b, body []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(body)))
	b = binary.LittleEndian.AppendUint32(b, ^uint32(len(body)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(body, castagnoli))
	return append(b, body...)
}

// Append buffers one record.
func (f *File) Append(body []byte) error {
	if f.f == nil {
		return ErrClosed
	}
	if len(body) > MaxRecord {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, len(body))
	}
	hdr := AppendFrame(make([]byte, 0, frameHdr), nil)
	binary.LittleEndian.PutUint32(hdr, uint32(len(body)))
	binary.LittleEndian.PutUint32(hdr[4:], ^uint32(len(body)))
	binary.LittleEndian.PutUint32(hdr[8:], crc32.Checksum(body, castagnoli))
	if _, err := f.w.Write(hdr); err != nil {
		return fmt.Errorf("recfile: %w", err)
	}
	if _, err := f.w.Write(body); err != nil {
		return fmt.Errorf("recfile: %w", err)
	}
	f.size += int64(frameHdr + len(body))
	return nil
}

// Flush writes buffered records to the OS (not durably).
func (f *File) Flush() error {
	if f.f == nil {
		return ErrClosed
	}
	if err := f.w.Flush(); err != nil {
		return fmt.Errorf("recfile: %w", err)
	}
	return nil
}

// Sync writes buffered records and fsyncs the file.
func (f *File) Sync() error {
	if err := f.Flush(); err != nil {
		return err
	}
	if err := f.f.Sync(); err != nil {
		return fmt.Errorf("recfile: %w", err)
	}
	return nil
}

// Size is the file's length including buffered records.
func (f *File) Size() int64 { return f.size }

// Rewrite replaces the file's content with records atomically (a synced
// temporary file renamed over it), for compaction.
func (f *File) Rewrite(records [][]byte) error {
	if f.f == nil {
		return ErrClosed
	}
	if err := f.w.Flush(); err != nil {
		return fmt.Errorf("recfile: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), "."+filepath.Base(f.path)+".*")
	if err != nil {
		return fmt.Errorf("recfile: %w", err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 64<<10)
	size := int64(magicLen)
	_, err = w.WriteString(f.magic)
	var frame []byte
	for _, r := range records {
		if err != nil {
			break
		}
		frame = AppendFrame(frame[:0], r)
		size += int64(len(frame))
		_, err = w.Write(frame)
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		return fmt.Errorf("recfile: rewriting: %w", err)
	}
	nf, err := os.OpenFile(f.path, os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("recfile: %w", err)
	}
	if _, err := nf.Seek(size, io.SeekStart); err != nil {
		nf.Close()
		return fmt.Errorf("recfile: %w", err)
	}
	_ = f.f.Close()
	f.f, f.size = nf, size
	f.w.Reset(nf)
	return nil
}

// Close syncs and closes the file.
func (f *File) Close() error {
	if f.f == nil {
		return nil
	}
	err := f.Sync()
	if cerr := f.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("recfile: %w", cerr)
	}
	f.f = nil
	return err
}
