package chain

import (
	"encoding/binary"
	"errors"
	"io"
)

// Events reads consecutive events a span at a time: the span's index
// entries in one read, and the records that lie back to back in one
// segment in another, where get reads two pieces per event. Anything
// out of the ordinary — a read that fails or comes short, a frame or
// record that does not check, an index table with an in-memory tail —
// ends the span there, and the event is read by get, which reports it
// exactly.

// Bounds of one span.
const (
	spanEvents = 128
	spanBytes  = 1 << 20
)

// spanReader holds the buffers of one Events iteration.
type spanReader struct {
	ents, recs []byte
}

// readRange copies entries i to i+n-1 into dst (grown as needed), in one
// read; false when they are not all in the file.
func (t *table) readRange(i, n uint64, dst []byte) ([]byte, bool) {
	if t.f == nil || (!t.writable && i+n > t.inFile) {
		return dst, false
	}
	size := int(n) * t.width
	if cap(dst) < size {
		dst = make([]byte, size)
	}
	dst = dst[:size]
	if m, err := t.f.ReadAt(dst, int64(i)*int64(t.width)); m != size || (err != nil && !errors.Is(err, io.EOF)) {
		return dst, false
	}
	return dst, true
}

// span reads events seq to seq+n-1 as far as they lie back to back and
// read cleanly, appending them to evs; it may read none.
func (s *store) span(r *spanReader, seq, n uint64, evs []Event) []Event {
	var ok bool
	if r.ents, ok = s.index.readRange(seq, n, r.ents); !ok {
		return evs
	}
	entry := func(j int) (seg, off, size uint32) {
		e := r.ents[j*indexWidth:]
		return binary.LittleEndian.Uint32(e), binary.LittleEndian.Uint32(e[4:]), binary.LittleEndian.Uint32(e[8:])
	}
	seg, first, _ := entry(0)
	end, k := first, 0
	for ; k < int(n); k++ {
		sg, off, size := entry(k)
		if sg != seg || off != end || uint64(end-first)+uint64(size) > spanBytes || uint64(off)+uint64(size) > 1<<32-1 {
			break
		}
		end = off + size
	}
	if k == 0 {
		return evs
	}
	f, err := s.segFile(seg)
	if err != nil {
		return evs
	}
	total := int(end - first)
	if cap(r.recs) < total {
		r.recs = make([]byte, total)
	}
	recs := r.recs[:total]
	if m, err := f.ReadAt(recs, int64(first)); m != total || (err != nil && !errors.Is(err, io.EOF)) {
		return evs
	}
	for j := range k {
		_, off, size := entry(j)
		body, l, _, reason := checkFrame(recs[off-first : off-first+size])
		if reason != "" || l != int(size) {
			break
		}
		e, err := decodeEvent(body)
		if err != nil || e.Seq != seq+uint64(j) {
			break
		}
		evs = append(evs, e)
	}
	return evs
}
