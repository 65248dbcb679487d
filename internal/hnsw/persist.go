package hnsw

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
)

// File format constants (see docs/MEMORY.md).
const (
	fileMagic   = "WEFTHNSW"
	fileVersion = 1
	headerSize  = 64
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// header is the fixed 64-byte file header.
type header struct {
	distance   uint32
	dim        uint32
	m          uint32
	efc        uint32
	ef         uint32
	seed       uint64
	nodes      uint32
	deleted    uint32
	entry      uint32
	maxLevel   int32
	upperWords uint32
}

func (h *header) encode() []byte {
	b := make([]byte, headerSize)
	copy(b, fileMagic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], fileVersion)
	le.PutUint32(b[12:], h.distance)
	le.PutUint32(b[16:], h.dim)
	le.PutUint32(b[20:], h.m)
	le.PutUint32(b[24:], h.efc)
	le.PutUint32(b[28:], h.ef)
	le.PutUint64(b[32:], h.seed)
	le.PutUint32(b[40:], h.nodes)
	le.PutUint32(b[44:], h.deleted)
	le.PutUint32(b[48:], h.entry)
	le.PutUint32(b[52:], uint32(h.maxLevel))
	le.PutUint32(b[56:], h.upperWords)
	le.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
	return b
}

func decodeHeader(b []byte) (header, error) {
	var h header
	if string(b[:8]) != fileMagic {
		return h, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	le := binary.LittleEndian
	if crc32.Checksum(b[:60], castagnoli) != le.Uint32(b[60:]) {
		return h, fmt.Errorf("%w: header checksum mismatch", ErrCorrupt)
	}
	if v := le.Uint32(b[8:]); v != fileVersion {
		return h, fmt.Errorf("%w: %d", ErrVersion, v)
	}
	h = header{
		distance: le.Uint32(b[12:]), dim: le.Uint32(b[16:]), m: le.Uint32(b[20:]),
		efc: le.Uint32(b[24:]), ef: le.Uint32(b[28:]), seed: le.Uint64(b[32:]),
		nodes: le.Uint32(b[40:]), deleted: le.Uint32(b[44:]), entry: le.Uint32(b[48:]),
		maxLevel: int32(le.Uint32(b[52:])), upperWords: le.Uint32(b[56:]),
	}
	return h, nil
}

// fixedSize is the file size excluding the upper-layer section payload.
func (h *header) fixedSize() uint64 {
	n := uint64(h.nodes)
	return headerSize +
		n*uint64(h.dim)*4 + 4 + // vectors
		n*8 + 4 + // labels
		n + 4 + // levels
		(n+31)/32*4 + 4 + // tombstones
		n*uint64(1+2*h.m)*4 + 4 + // layer 0
		4 // upper-layer checksum
}

// Save writes the index to path crash-safely: it writes a temporary file
// in the same directory, fsyncs it, renames it over path and fsyncs the
// directory, so path holds either the old or the new index, never a torn
// one. Inserts and deletes wait while Save runs; searches do not.
func (x *Index) Save(path string) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("hnsw: save: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if _, err = x.WriteTo(bw); err != nil {
		return fmt.Errorf("hnsw: save: %w", err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("hnsw: save: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("hnsw: save: fsync: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("hnsw: save: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("hnsw: save: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		return nil // directories cannot be fsynced there
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("hnsw: save: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("hnsw: save: sync dir: %w", err)
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteTo writes the index in the binary format to w. It implements
// io.WriterTo.
func (x *Index) WriteTo(w io.Writer) (int64, error) {
	x.writeMu.Lock()
	defer x.writeMu.Unlock()
	x.growMu.RLock()
	defer x.growMu.RUnlock()

	n := x.count
	entry, top := unpackEP(x.ep.Load())
	if top < 0 {
		entry = noNode
	}
	upperWords := 0
	for _, l := range x.levels[:n] {
		upperWords += int(l) * x.s1
	}
	if uint64(upperWords) > math.MaxUint32 {
		return 0, fmt.Errorf("%w: upper layers too large", ErrFull)
	}
	h := header{
		distance: uint32(x.cfg.Distance), dim: uint32(x.dim), m: uint32(x.m),
		efc: uint32(x.cfg.EfConstruction), ef: uint32(x.cfg.Ef), seed: x.cfg.Seed,
		nodes: uint32(n), deleted: uint32(x.nDeleted.Load()), entry: entry,
		maxLevel: int32(top), upperWords: uint32(upperWords),
	}
	cw := &countingWriter{w: w}
	if _, err := cw.Write(h.encode()); err != nil {
		return cw.n, err
	}
	tomb := make([]uint32, (n+31)/32)
	for i := range tomb {
		tomb[i] = atomic.LoadUint32(&x.deleted[i])
	}
	if r := n % 32; r != 0 {
		tomb[len(tomb)-1] &= 1<<r - 1
	}
	sections := [][]byte{
		le32(f32AsU32(x.vecs[:n*x.dim])),
		le64(x.labels[:n]),
		x.levels[:n],
		le32(tomb),
		le32(x.links0[:n*x.s0]),
	}
	for _, s := range sections {
		if err := writeSection(cw, s); err != nil {
			return cw.n, err
		}
	}
	crc := uint32(0)
	for id, l := range x.levels[:n] {
		if l == 0 {
			continue
		}
		b := le32(x.upper[id][:int(l)*x.s1])
		crc = crc32.Update(crc, castagnoli, b)
		if _, err := cw.Write(b); err != nil {
			return cw.n, err
		}
	}
	var c [4]byte
	binary.LittleEndian.PutUint32(c[:], crc)
	_, err := cw.Write(c[:])
	return cw.n, err
}

func writeSection(w io.Writer, b []byte) error {
	if _, err := w.Write(b); err != nil {
		return err
	}
	var c [4]byte
	binary.LittleEndian.PutUint32(c[:], crc32.Checksum(b, castagnoli))
	_, err := w.Write(c[:])
	return err
}

// readSection fills b from r and checks the checksum that follows it.
func readSection(r io.Reader, b []byte, name string) error {
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, name, err)
	}
	var c [4]byte
	if _, err := io.ReadFull(r, c[:]); err != nil {
		return fmt.Errorf("%w: %s checksum: %w", ErrCorrupt, name, err)
	}
	if crc32.Checksum(b, castagnoli) != binary.LittleEndian.Uint32(c[:]) {
		return fmt.Errorf("%w: %s checksum mismatch", ErrCorrupt, name)
	}
	return nil
}

// Load reads an index written by Save.
func Load(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hnsw: load: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("hnsw: load: %w", err)
	}
	x, err := Read(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("hnsw: load %s: %w", path, err)
	}
	return x, nil
}

// Read decodes an index of exactly size bytes from r. Every size in the
// header is checked against size before anything is allocated, every
// section is checksummed, and the graph is validated (ids in range, list
// counts within capacity, unique live labels), so a corrupt or truncated
// input returns an error wrapping ErrCorrupt, never a panic.
func Read(r io.Reader, size int64) (*Index, error) {
	if size < headerSize {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the header", ErrCorrupt, size)
	}
	hb := make([]byte, headerSize)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrCorrupt, err)
	}
	h, err := decodeHeader(hb)
	if err != nil {
		return nil, err
	}
	cfg := Config{
		Dim: int(h.dim), Distance: Distance(h.distance), M: int(h.m),
		EfConstruction: int(h.efc), Ef: int(h.ef), Seed: h.seed,
	}
	if h.dim == 0 || h.m == 0 || h.efc == 0 || h.ef == 0 || h.nodes > MaxNodes {
		return nil, fmt.Errorf("%w: zero parameter in header", ErrCorrupt)
	}
	if err := cfg.normalize(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if uint64(h.nodes)*uint64(1+2*h.m+h.dim) > uint64(math.MaxInt/8) {
		return nil, fmt.Errorf("%w: index too large for this platform", ErrCorrupt)
	}
	if want := h.fixedSize() + uint64(h.upperWords)*4; want != uint64(size) {
		return nil, fmt.Errorf("%w: size %d, header implies %d", ErrCorrupt, size, want)
	}
	n := int(h.nodes)
	x := newIndex(cfg)
	x.vecs = make([]float32, n*x.dim)
	x.labels = make([]uint64, n)
	x.levels = make([]uint8, n)
	x.deleted = make([]uint32, (n+31)/32)
	x.links0 = make([]uint32, n*x.s0)
	x.upper = make([][]uint32, n)
	x.count, x.capacity = n, n

	vw := f32AsU32(x.vecs)
	if err := readSection(r, u32Bytes(vw), "vectors"); err != nil {
		return nil, err
	}
	fromLE32(vw)
	if err := readSection(r, u64Bytes(x.labels), "labels"); err != nil {
		return nil, err
	}
	fromLE64(x.labels)
	if err := readSection(r, x.levels, "levels"); err != nil {
		return nil, err
	}
	if err := readSection(r, u32Bytes(x.deleted), "tombstones"); err != nil {
		return nil, err
	}
	fromLE32(x.deleted)
	if err := readSection(r, u32Bytes(x.links0), "layer 0"); err != nil {
		return nil, err
	}
	fromLE32(x.links0)
	upperWords := 0
	for _, l := range x.levels {
		upperWords += int(l) * x.s1
	}
	if upperWords != int(h.upperWords) {
		return nil, fmt.Errorf("%w: levels imply %d upper words, header says %d", ErrCorrupt, upperWords, h.upperWords)
	}
	block := make([]uint32, upperWords)
	if err := readSection(r, u32Bytes(block), "upper layers"); err != nil {
		return nil, err
	}
	fromLE32(block)
	off := 0
	for id, l := range x.levels {
		if l > 0 {
			w := int(l) * x.s1
			x.upper[id] = block[off : off+w : off+w]
			off += w
		}
	}
	if err := x.validate(h); err != nil {
		return nil, err
	}
	return x, nil
}

// validate checks the structural invariants of a freshly read graph and
// rebuilds the label map.
func (x *Index) validate(h header) error {
	n := x.count
	if n == 0 {
		if h.entry != noNode || h.maxLevel != -1 || h.deleted != 0 {
			return fmt.Errorf("%w: empty index with an entry point", ErrCorrupt)
		}
		return nil
	}
	top := 0
	for _, l := range x.levels {
		top = max(top, int(l))
	}
	if top > maxLevel || int(h.maxLevel) != top || h.entry >= uint32(n) || int(x.levels[h.entry]) != top {
		return fmt.Errorf("%w: bad entry point or levels", ErrCorrupt)
	}
	if r := n % 32; r != 0 && x.deleted[len(x.deleted)-1]>>r != 0 {
		return fmt.Errorf("%w: tombstone bits beyond the last node", ErrCorrupt)
	}
	tomb := 0
	for _, w := range x.deleted {
		tomb += bits.OnesCount32(w)
	}
	if tomb != int(h.deleted) {
		return fmt.Errorf("%w: %d tombstones, header says %d", ErrCorrupt, tomb, h.deleted)
	}
	checkList := func(l []uint32) error {
		c := int(l[0])
		if c > len(l)-1 {
			return errors.New("neighbour count above capacity")
		}
		for _, nb := range l[1 : 1+c] {
			if nb >= uint32(n) {
				return errors.New("neighbour id out of range")
			}
		}
		return nil
	}
	for id := range n {
		if err := checkList(x.list(uint32(id), 0)); err != nil {
			return fmt.Errorf("%w: node %d layer 0: %w", ErrCorrupt, id, err)
		}
		for l := 1; l <= int(x.levels[id]); l++ {
			lst := x.list(uint32(id), l)
			if err := checkList(lst); err != nil {
				return fmt.Errorf("%w: node %d layer %d: %w", ErrCorrupt, id, l, err)
			}
			for _, nb := range lst[1 : 1+lst[0]] {
				if int(x.levels[nb]) < l {
					return fmt.Errorf("%w: node %d links to %d above its level", ErrCorrupt, id, nb)
				}
			}
		}
		if !finite(x.vec(uint32(id))) {
			return fmt.Errorf("%w: node %d has a non-finite vector", ErrCorrupt, id)
		}
	}
	x.byLabel = make(map[uint64]uint32, n-tomb)
	for id := range n {
		if x.isDeleted(uint32(id)) {
			continue
		}
		lb := x.labels[id]
		if _, dup := x.byLabel[lb]; dup {
			return fmt.Errorf("%w: duplicate live label %d", ErrCorrupt, lb)
		}
		x.byLabel[lb] = uint32(id)
	}
	x.live = n - tomb
	x.nDeleted.Store(int64(tomb))
	x.ep.Store(packEP(h.entry, top))
	return nil
}
