package xref

import (
	"hash/maphash"
	"strconv"
)

// table finds entries by the hash of their id or key: open addressing
// with linear probing over one slice of words, kept at most half full. A
// slot holds the high 32 bits of the hash (a tag that settles most
// misses without looking further) and the entry's number + 1 (0: empty);
// the caller confirms a tag match against the entry. Hashes are seeded
// (hash/maphash), so chosen ids or keys cannot pile up in one run of
// slots. It holds no pointers: the garbage collector does not scan it.
type table struct {
	slots []uint64
	used  int
}

func slot(h uint64, n int32) uint64 { return h&^0xffffffff | uint64(uint32(n)+1) }

// start is where the probe for hash h begins.
func (t *table) start(h uint64) int { return int(h) & (len(t.slots) - 1) }

// put records entry n under hash h; n is not there yet. rehash gives the
// hash of any entry already recorded, for growing.
func (t *table) put(h uint64, n int32, rehash func(int32) uint64) {
	if 2*(t.used+1) > len(t.slots) {
		t.grow(rehash)
	}
	mask := len(t.slots) - 1
	i := t.start(h)
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = slot(h, n)
	t.used++
}

func (t *table) grow(rehash func(int32) uint64) {
	old := t.slots
	t.slots = make([]uint64, max(64, 2*len(old)))
	mask := len(t.slots) - 1
	for _, s := range old {
		if s == 0 {
			continue
		}
		n := int32(uint32(s) - 1)
		i := t.start(rehash(n))
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}

// hashID is the table hash of an id.
func (x *Index) hashID(id *ID) uint64 { return maphash.Bytes(x.seed, id[:]) }

// find is the number of id's entry.
func (x *Index) find(id *ID) (int32, bool) {
	if len(x.ids.slots) == 0 {
		return -1, false
	}
	h := x.hashID(id)
	tag, mask := h>>32, len(x.ids.slots)-1
	for i := x.ids.start(h); ; i = (i + 1) & mask {
		s := x.ids.slots[i]
		if s == 0 {
			return -1, false
		}
		if s>>32 == tag {
			if n := int32(uint32(s) - 1); x.ents[n].id == *id {
				return n, true
			}
		}
	}
}

// num numbers id, adding an entry if it is new.
func (x *Index) num(id *ID) int32 {
	if n, ok := x.find(id); ok {
		return n
	}
	return x.insert(id)
}

// insert adds an entry for id, which has none.
func (x *Index) insert(id *ID) int32 {
	n := int32(len(x.ents))
	x.ents = append(room(x.ents, 1), entry{id: *id, head: [2]int32{-1, -1}, tail: [2]int32{-1, -1}})
	x.ids.put(x.hashID(id), n, func(m int32) uint64 { return x.hashID(&x.ents[m].id) })
	return n
}

// Keys "seq:N" (N canonical decimal) are held in a dense slice by N,
// without hashing or storing their text: chain events are numbered
// densely. Other keys are stored in the arena and found through a table.

// seqKey is N of a canonical "seq:N" key.
func seqKey(key string) (uint64, bool) {
	const p = "seq:"
	if len(key) <= len(p) || key[:len(p)] != p || len(key) > len(p)+20 || (key[len(p)] == '0' && len(key) > len(p)+1) {
		return 0, false
	}
	n, err := strconv.ParseUint(key[len(p):], 10, 64)
	return n, err == nil
}

// maxSeqGap bounds how far past the dense slice's end a seq key may lie
// and still extend it (further ones go to the table).
const maxSeqGap = 1 << 16

// keyEntry is the entry holding key, or -1.
func (x *Index) keyEntry(key string) int32 {
	if n, ok := seqKey(key); ok && n < uint64(len(x.seqs)) && x.seqs[n] >= 0 {
		return x.seqs[n]
	}
	if len(x.keys.slots) == 0 {
		return -1
	}
	h := maphash.String(x.seed, key)
	tag, mask := h>>32, len(x.keys.slots)-1
	for i := x.keys.start(h); ; i = (i + 1) & mask {
		s := x.keys.slots[i]
		if s == 0 {
			return -1
		}
		if s>>32 == tag {
			if n := int32(uint32(s) - 1); string(x.keyBytes(n)) == key {
				return n
			}
		}
	}
}

// keyBytes is the key of entry n as stored in the arena (nil for none or
// a dense seq key).
func (x *Index) keyBytes(n int32) []byte {
	e := &x.ents[n]
	if e.klen == 0 || e.klen == seqKeyLen {
		return nil
	}
	return x.arena[e.koff : e.koff+uint64(e.klen)]
}

// setKey gives entry n key, which no entry holds.
func (x *Index) setKey(n int32, key string) {
	e := &x.ents[n]
	if s, ok := seqKey(key); ok && s < uint64(len(x.seqs))+maxSeqGap {
		for uint64(len(x.seqs)) <= s {
			x.seqs = append(room(x.seqs, 1), -1)
		}
		x.seqs[s] = n
		e.koff, e.klen = s, seqKeyLen
		return
	}
	e.koff, e.klen = uint64(len(x.arena)), uint32(len(key))
	x.arena = append(room(x.arena, len(key)), key...)
	x.keys.put(maphash.String(x.seed, key), n, func(m int32) uint64 { return maphash.Bytes(x.seed, x.keyBytes(m)) })
}

// key is entry n's key.
func (x *Index) key(n int32) string {
	e := &x.ents[n]
	if e.klen == seqKeyLen {
		return "seq:" + strconv.FormatUint(e.koff, 10)
	}
	return string(x.keyBytes(n))
}
