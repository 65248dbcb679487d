package memory

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"unicode/utf8"
)

// The lexical index file (dir/memory.lex) is a snapshot of the forward
// index: the term dictionary and, per record, its field lengths, group,
// time and term frequencies. Postings are rebuilt from it on load. The
// records in the database are the truth: a missing, corrupt or stale file
// is rebuilt from them, so nothing is ever lost with it. Layout (all
// integers little-endian; uv = unsigned varint, sv = signed varint):
//
//	magic "WEFTLEXI", uint32 version (1), uint64 generation (the
//	database's gen it reflects)
//	uv terms, then per term: uv length, bytes (UTF-8, ≤ 64 bytes)
//	uv docs, then per doc in ascending label order: uv label (> the
//	previous), uv group length, group bytes, sv time, 3 × uv field
//	length, uv distinct terms, then per term: uv term-index delta (the
//	first is the index + 1; each ≥ 1), 3 × uv tf
//	uint32 CRC32C of every byte before it
const (
	lexMagic   = "WEFTLEXI"
	lexVersion = 1
	lexFile    = "memory.lex"
	// maxGroupBytes bounds a group name in the file (sessions and paths).
	maxGroupBytes = 1 << 16
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errLexFile marks a lexical index file that cannot be used (it is then
// rebuilt from the records).
var errLexFile = errors.New("lexical index file")

// marshal encodes the index as of generation gen.
func (x *lexIndex) marshal(gen uint64) []byte {
	// Only terms still in use, renumbered densely.
	remap := make([]uint32, len(x.names))
	var terms []string
	for id, ps := range x.post {
		if len(ps) > 0 {
			remap[id] = uint32(len(terms))
			terms = append(terms, x.names[id])
		}
	}
	b := append([]byte(lexMagic), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[8:], lexVersion)
	b = binary.LittleEndian.AppendUint64(b, gen)
	b = binary.AppendUvarint(b, uint64(len(terms)))
	for _, t := range terms {
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
	}
	labels := slices.Sorted(func(yield func(uint64) bool) {
		for l := range x.docs {
			if !yield(l) {
				return
			}
		}
	})
	b = binary.AppendUvarint(b, uint64(len(labels)))
	for _, l := range labels {
		d := x.docs[l]
		b = binary.AppendUvarint(b, l)
		b = binary.AppendUvarint(b, uint64(len(d.group)))
		b = append(b, d.group...)
		b = binary.AppendVarint(b, d.time)
		for _, n := range d.lens {
			b = binary.AppendUvarint(b, uint64(n))
		}
		ids := make([]uint32, len(d.terms))
		for i, id := range d.terms {
			ids[i] = remap[id]
		}
		slices.Sort(ids) // remap keeps order, but be sure
		b = binary.AppendUvarint(b, uint64(len(ids)))
		prev := int64(-1)
		for i, nid := range ids {
			b = binary.AppendUvarint(b, uint64(int64(nid)-prev))
			prev = int64(nid)
			tf := x.tfOf(d.terms[i], l)
			for _, c := range tf {
				b = binary.AppendUvarint(b, uint64(c))
			}
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// tfOf returns the term frequencies of term id in label's record.
func (x *lexIndex) tfOf(id uint32, label uint64) [numFields]uint16 {
	ps := x.post[id]
	if i, ok := slices.BinarySearchFunc(ps, label, func(a posting, l uint64) int { return cmpU64(a.label, l) }); ok {
		return ps[i].tf
	}
	return [numFields]uint16{}
}

// lexReader decodes varints with bounds checks.
type lexReader struct {
	b   []byte
	err error
}

func (r *lexReader) uv(limit uint64, what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: truncated %s", errLexFile, what)
		return 0
	}
	if v > limit {
		r.err = fmt.Errorf("%w: %s %d over %d", errLexFile, what, v, limit)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *lexReader) sv(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: truncated %s", errLexFile, what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *lexReader) bytes(n uint64, what string) []byte {
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.err = fmt.Errorf("%w: truncated %s", errLexFile, what)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

// unmarshalLex decodes a file written by marshal, checking every count,
// order and checksum; it returns the generation the file reflects.
func unmarshalLex(data []byte) (*lexIndex, uint64, error) {
	if len(data) < len(lexMagic)+4+8+4 || string(data[:len(lexMagic)]) != lexMagic {
		return nil, 0, fmt.Errorf("%w: bad magic", errLexFile)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, 0, fmt.Errorf("%w: checksum mismatch", errLexFile)
	}
	if v := binary.LittleEndian.Uint32(body[8:]); v != lexVersion {
		return nil, 0, fmt.Errorf("%w: version %d, this build reads %d", errLexFile, v, lexVersion)
	}
	gen := binary.LittleEndian.Uint64(body[12:])
	r := &lexReader{b: body[20:]}
	// Every term and doc takes at least one byte, so the counts are
	// bounded by the remaining length before anything is allocated.
	nterms := r.uv(uint64(len(r.b)), "term count")
	x := newLexIndex()
	for i := uint64(0); i < nterms && r.err == nil; i++ {
		t := string(r.bytes(r.uv(maxTokenBytes, "term length"), "term"))
		if r.err != nil {
			break
		}
		if t == "" || !utf8.ValidString(t) {
			return nil, 0, fmt.Errorf("%w: term %d is empty or not UTF-8", errLexFile, i)
		}
		if _, dup := x.ids[t]; dup {
			return nil, 0, fmt.Errorf("%w: term %q twice", errLexFile, t)
		}
		x.termID(t)
	}
	ndocs := r.uv(uint64(len(r.b)), "doc count")
	var prevLabel uint64
	for i := uint64(0); i < ndocs && r.err == nil; i++ {
		label := r.uv(math.MaxUint64, "label")
		group := string(r.bytes(r.uv(maxGroupBytes, "group length"), "group"))
		d := &lexDoc{group: group, time: r.sv("time")}
		for f := range d.lens {
			d.lens[f] = uint32(r.uv(math.MaxUint32, "field length"))
		}
		n := r.uv(min(nterms, uint64(len(r.b))), "distinct terms")
		if r.err != nil {
			break
		}
		if label == 0 || (i > 0 && label <= prevLabel) {
			return nil, 0, fmt.Errorf("%w: label %d out of order", errLexFile, label)
		}
		prevLabel = label
		d.terms = make([]uint32, 0, n)
		tfs := make([][numFields]uint16, 0, n)
		var sums [numFields]uint64
		id := int64(-1)
		for j := uint64(0); j < n && r.err == nil; j++ {
			delta := r.uv(nterms, "term delta")
			id += int64(delta)
			if r.err == nil && (delta == 0 || uint64(id) >= nterms) {
				r.err = fmt.Errorf("%w: label %d: term indexes not ascending below %d", errLexFile, label, nterms)
			}
			var tf [numFields]uint16
			total := uint64(0)
			for f := range tf {
				c := r.uv(maxTF, "tf")
				tf[f] = uint16(c)
				sums[f] += c
				total += c
			}
			if r.err == nil && total == 0 {
				r.err = fmt.Errorf("%w: label %d: a term with no occurrence", errLexFile, label)
			}
			d.terms = append(d.terms, uint32(id))
			tfs = append(tfs, tf)
		}
		if r.err != nil {
			break
		}
		for f := range sums {
			if sums[f] != uint64(d.lens[f]) {
				return nil, 0, fmt.Errorf("%w: label %d: term counts do not add up to the field lengths", errLexFile, label)
			}
		}
		x.addDoc(label, d, tfs)
	}
	if r.err != nil {
		return nil, 0, r.err
	}
	if len(r.b) != 0 {
		return nil, 0, fmt.Errorf("%w: %d trailing bytes", errLexFile, len(r.b))
	}
	return x, gen, nil
}

// saveLex writes the index for generation gen crash-safely: a temporary
// file in dir, fsynced, renamed over memory.lex, and the directory
// fsynced — the file is the old or the new snapshot, never a torn one.
func saveLex(dir string, x *lexIndex, gen uint64) (err error) {
	f, err := os.CreateTemp(dir, "."+lexFile+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(x.marshal(gen)); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, filepath.Join(dir, lexFile)); err != nil {
		return err
	}
	if runtime.GOOS == "windows" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		return nil // directories cannot be fsynced there
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// openLex loads memory.lex if it reflects generation gen and holds
// exactly the loaded records, else rebuilds the lexical index from the
// records' texts. The caller holds s.mu or has not published s yet.
func (s *Store) openLex(ctx context.Context, gen uint64) error {
	reason := "in-memory store"
	if s.persistent {
		reason = ""
		data, err := os.ReadFile(filepath.Join(s.dir, lexFile))
		switch {
		case errors.Is(err, os.ErrNotExist):
			reason = "no lexical index file"
		case err != nil:
			reason = err.Error()
		default:
			x, fileGen, err := unmarshalLex(data)
			switch {
			case err != nil:
				reason = err.Error()
			case fileGen != gen:
				reason = fmt.Sprintf("lexical index reflects generation %d, database is at %d", fileGen, gen)
			case len(x.docs) != len(s.entries):
				reason = fmt.Sprintf("lexical index holds %d records, database %d", len(x.docs), len(s.entries))
			default:
				for l := range s.entries {
					if _, ok := x.docs[l]; !ok {
						reason = fmt.Sprintf("lexical index lacks label %d", l)
						break
					}
				}
			}
			if reason == "" {
				s.lex, s.lexGen, s.lexSrc, s.lexOnDisk = x, gen, "loaded", true
				return nil
			}
		}
	}
	s.lex, s.lexSrc = newLexIndex(), "new"
	if len(s.entries) == 0 {
		return nil
	}
	if s.persistent {
		s.log.LogAttrs(ctx, slog.LevelInfo, "rebuilding the lexical memory index from the records",
			slog.String("reason", reason), slog.Int("records", len(s.entries)))
	}
	err := s.kv.View(func(tx kvTx) error {
		return tx.ForEach(bucketRecords, func(k, v []byte) error {
			var r storedRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("%w: record %x: %w", ErrCorrupt, k, err)
			}
			s.lex.add(r.Label, r.Text, r.Meta)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("memory: open: lexical index: %w", err)
	}
	s.lexSrc = "rebuilt"
	return nil
}

// flushLexLocked saves memory.lex when the database moved on since it
// was last written or loaded. The caller holds s.mu exclusively (every
// change to the records and the index happens under it), so the index
// matches the generation written with it.
func (s *Store) flushLexLocked() error {
	var gen uint64
	if err := s.kv.View(func(tx kvTx) error { gen = getU64(tx, keyGen); return nil }); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	if s.lexOnDisk && gen == s.lexGen {
		return nil
	}
	if err := saveLex(s.dir, s.lex, gen); err != nil {
		return fmt.Errorf("memory: save lexical index: %w", err)
	}
	s.lexGen, s.lexOnDisk = gen, true
	return nil
}
