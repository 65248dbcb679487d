package chain

import (
	"fmt"
	"math/bits"
	"os"
)

// table is a file of fixed-width entries (index, tree, checkpoint index). A
// writable table appends to its file; a read-only table keeps entries added
// after open in memory (the Reader's view of an unindexed tail).
type table struct {
	f        *os.File
	width    int
	count    uint64 // entries available (file + memory)
	inFile   uint64 // entries stored in the file
	writable bool
	mem      []byte
	pending  []byte
}

func openTable(path string, width int, writable bool, trusted uint64) (*table, error) {
	flag := os.O_RDONLY
	if writable {
		flag = os.O_RDWR | os.O_CREATE
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		if !writable && os.IsNotExist(err) {
			return &table{width: width}, nil
		}
		return nil, fmt.Errorf("chain: open %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("chain: stat %s: %w", path, err)
	}
	have := uint64(st.Size()) / uint64(width)
	if have < trusted {
		f.Close()
		return nil, fmt.Errorf("%w: %s holds %d entries, state file promises %d", ErrCorrupt, path, have, trusted)
	}
	// Rows beyond trusted are left in place until the open succeeds (they
	// are evidence of what was acknowledged; see readAckedHead): trimTail
	// removes them then.
	return &table{f: f, width: width, count: trusted, inFile: trusted, writable: writable}, nil
}

// trimTail cuts the file to the entries it holds (writable tables only),
// dropping stale rows from before the open.
func (t *table) trimTail() error {
	if t.f == nil || !t.writable {
		return nil
	}
	if err := t.f.Truncate(int64(t.inFile) * int64(t.width)); err != nil {
		return fmt.Errorf("chain: truncate %s: %w", t.f.Name(), err)
	}
	return nil
}

// add appends one entry (len(b) == width).
func (t *table) add(b []byte) {
	if t.writable {
		t.pending = append(t.pending, b...)
	} else {
		t.mem = append(t.mem, b...)
	}
	t.count++
}

// flush writes pending entries to the file (writable tables only).
func (t *table) flush() error {
	if len(t.pending) == 0 {
		return nil
	}
	if _, err := t.f.WriteAt(t.pending, int64(t.inFile)*int64(t.width)); err != nil {
		return fmt.Errorf("chain: write %s: %w", t.f.Name(), err)
	}
	t.inFile += uint64(len(t.pending) / t.width)
	t.pending = t.pending[:0]
	return nil
}

// flushTo writes the pending entries below count to the file (writable
// tables only), keeping later ones pending.
func (t *table) flushTo(count uint64) error {
	if count <= t.inFile || !t.writable {
		return nil
	}
	n := int(count-t.inFile) * t.width
	if n > len(t.pending) {
		return fmt.Errorf("chain: %s: flush to entry %d beyond the %d added", t.f.Name(), count, t.count)
	}
	if _, err := t.f.WriteAt(t.pending[:n], int64(t.inFile)*int64(t.width)); err != nil {
		return fmt.Errorf("chain: write %s: %w", t.f.Name(), err)
	}
	t.inFile = count
	t.pending = t.pending[:copy(t.pending, t.pending[n:])]
	return nil
}

// read copies entry i into dst. Callers only read entries that were flushed
// (writable) or added before the table was shared (read-only).
func (t *table) read(i uint64, dst []byte) error {
	if !t.writable && i >= t.inFile {
		off := (i - t.inFile) * uint64(t.width)
		if off+uint64(t.width) > uint64(len(t.mem)) {
			return fmt.Errorf("%w: entry %d", ErrNotFound, i)
		}
		copy(dst, t.mem[off:])
		return nil
	}
	if t.f == nil {
		return fmt.Errorf("%w: entry %d", ErrNotFound, i)
	}
	if _, err := t.f.ReadAt(dst[:t.width], int64(i)*int64(t.width)); err != nil {
		return fmt.Errorf("chain: read %s entry %d: %w", t.f.Name(), i, err)
	}
	return nil
}

func (t *table) sync() error {
	if t.f == nil || !t.writable {
		return nil
	}
	return t.f.Sync()
}

func (t *table) close() error {
	if t.f == nil {
		return nil
	}
	return t.f.Close()
}

// treePos returns the position of Merkle node (level, index) in the tree
// file, which stores nodes in the order they are completed (post-order, as in
// a Merkle mountain range): leaf i, then every subtree it completes.
func treePos(level uint, index uint64) uint64 {
	l := (index + 1) << level
	return 2*l - uint64(bits.OnesCount64(l)) - 1 - uint64(bits.TrailingZeros64(index+1))
}

// treeEntries is the number of tree file entries for n leaves.
func treeEntries(n uint64) uint64 { return 2*n - uint64(bits.OnesCount64(n)) }

// fileTree serves Merkle nodes from a tree table.
type fileTree struct{ t *table }

func (ft fileTree) node(level uint, index uint64) (Hash, error) {
	var h Hash
	if level > 63 {
		return h, fmt.Errorf("%w: merkle level %d", ErrNotFound, level)
	}
	err := ft.t.read(treePos(level, index), h[:])
	return h, err
}
