package xref

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"sync"

	"github.com/weftos/weftos/internal/recfile"
)

// Magic is the header of the index file.
const Magic = "WXREF001"

// Sentinel errors of the index.
var (
	// ErrNotFound reports an id or key the index does not know.
	ErrNotFound = errors.New("xref: not found")
	// ErrAmbiguous reports a prefix that matches more than one id.
	ErrAmbiguous = errors.New("xref: ambiguous id prefix")
	// ErrCorrupt reports an index file that cannot be read (other than a
	// torn tail, which is cut); the index is derived data, so the owner
	// rebuilds it from the chain.
	ErrCorrupt = errors.New("xref: index corrupt")
)

// MinPrefix is the shortest hex prefix Resolve accepts.
const MinPrefix = 8

// The index numbers every id it meets (a node, or the end of a link) and
// keeps, per number, an entry: the id, the node's type (by number) and
// key (in an arena), and the ends of two lists of link positions, its
// out-links and its in-links, threaded through the links themselves.
// Entries and links hold no pointers, so the garbage collector does not
// scan them, and ids and keys are found through compact hash tables
// (table.go). A link is new unless its from entry already has it: an
// entry with few out-links (an event has a handful) is checked by walking
// them, one with many through a set of its out-links.

// Directions of an entry's link lists.
const (
	out = 0
	in  = 1
)

// stored is a link as the index keeps it: its ends and relation by
// number, and the next link in its from entry's out-list and its to
// entry's in-list (-1 at the end).
type stored struct {
	from, to int32
	rel      uint32
	next     [2]int32
	seq      uint64
}

// seqKeyLen marks an entry whose key is "seq:" + koff, held in Index.seqs.
const seqKeyLen = ^uint32(0)

// entry is what the index knows of one id.
type entry struct {
	id         ID
	head, tail [2]int32 // first and last link of the out- and in-list (-1: none)
	deg        [2]int32 // the lists' lengths
	typ        uint32   // 1 + the node's type number; 0 until the node is known
	klen       uint32   // key length in Index.arena (0: no key; seqKeyLen: a seq key)
	koff       uint64   // key offset in Index.arena, or N of a seq key
}

// walkLimit is the out-degree up to which a new link is checked against
// its from entry's out-list by walking it; past it, the entry keeps a
// set of its out-links.
const walkLimit = 16

// Index is the forward and reverse cross-reference index. Safe for
// concurrent use.
type Index struct {
	mu    sync.RWMutex
	file  *recfile.File // nil for an in-memory index
	seed  maphash.Seed
	ids   table // id → its number, an index in ents
	ents  []entry
	nodes int     // known entries
	keys  table   // key (other than a dense seq key) → entry
	seqs  []int32 // entry holding "seq:N", by N (-1: none)
	arena []byte  // keys' bytes
	links []stored
	// sets holds the out-links (to<<32 | rel) of entries whose out-degree
	// passed walkLimit.
	sets    map[int32]map[uint64]struct{}
	rels    []string // relation names by number
	relNum  map[string]uint32
	types   []string // node types by number
	typeNum map[string]uint32
	through uint64
	fresh   Batch  // what the last add found new (reused)
	enc     []byte // its encoding (reused)
}

// room makes room for n more elements in s, doubling its capacity when
// it grows (append grows large slices by a quarter: copying, and the
// fresh memory's page faults, cost more than the space saved).
func room[T any](s []T, n int) []T {
	if len(s)+n > cap(s) {
		s = slices.Grow(s, max(n, len(s), 64))
	}
	return s
}

// ErrFull reports an index that cannot number more ids or links.
var ErrFull = errors.New("xref: index full")

// maxCount bounds entries and links (they are numbered by int32).
const maxCount = math.MaxInt32 - maxEntries

// New returns an empty in-memory index.
func New() *Index {
	return &Index{seed: maphash.MakeSeed(), sets: map[int32]map[uint64]struct{}{}, relNum: map[string]uint32{}, typeNum: map[string]uint32{}}
}

// intern numbers a name in names/nums, adding it if it is new.
func intern(names *[]string, nums map[string]uint32, name string) uint32 {
	n, ok := nums[name]
	if !ok {
		n = uint32(len(*names))
		*names = append(*names, name)
		nums[name] = n
	}
	return n
}

// link is the stored link at position i.
func (x *Index) link(i int32) Link {
	s := &x.links[i]
	return Link{From: x.ents[s.from].id, To: x.ents[s.to].id, Rel: x.rels[s.rel], Seq: s.seq}
}

// linksOf lists entry n's links in direction dir, in the order added.
func (x *Index) linksOf(n int32, dir int) []Link {
	e := &x.ents[n]
	if e.deg[dir] == 0 {
		return nil
	}
	ls := make([]Link, 0, e.deg[dir])
	for i := e.head[dir]; i >= 0; i = x.links[i].next[dir] {
		ls = append(ls, x.link(i))
	}
	return ls
}

// node is the node numbered n, if known.
func (x *Index) node(n int32) (Node, bool) {
	e := &x.ents[n]
	if e.typ == 0 {
		return Node{}, false
	}
	return Node{ID: e.id, Type: x.types[e.typ-1], Key: x.key(n)}, true
}

// Open loads the index persisted at path (created if missing). A torn
// tail left by a crash is cut, and the index then reports an earlier
// Through: the owner re-indexes from there.
func Open(path string) (*Index, error) {
	f, recs, _, err := recfile.Open(path, Magic)
	if errors.Is(err, recfile.ErrCorrupt) {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err != nil {
		return nil, fmt.Errorf("xref: %w", err)
	}
	x := New()
	for i, r := range recs {
		b, err := DecodeBatch(r)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%w: %s: record %d: %w", ErrCorrupt, path, i, err)
		}
		x.add(b)
	}
	x.file = f
	return x, nil
}

// add merges b and returns what was new, valid until the next add.
// Callers hold mu.
func (x *Index) add(b Batch) Batch {
	fresh := Batch{Nodes: x.fresh.Nodes[:0], Links: x.fresh.Links[:0], Through: b.Through}
	for _, n := range b.Nodes {
		e, ok := x.find(&n.ID)
		known := ok && x.ents[e].typ != 0
		if known && (x.ents[e].klen != 0 || n.Key == "") {
			continue
		}
		if n.Key != "" {
			if other := x.keyEntry(n.Key); other >= 0 && x.ents[other].id != n.ID {
				n.Key = "" // keys are unique: the first holder keeps it
			}
		}
		if known && n.Key == "" {
			continue
		}
		if !ok {
			e = x.insert(&n.ID)
		}
		if !known {
			x.nodes++
		}
		x.ents[e].typ = 1 + intern(&x.types, x.typeNum, n.Type)
		if n.Key != "" {
			x.setKey(e, n.Key)
		}
		fresh.Nodes = append(fresh.Nodes, n)
	}
	// The links of one event share their from end: it is looked up once.
	var lastFrom ID
	lastNum := int32(-1)
	for _, l := range b.Links {
		if lastNum < 0 || l.From != lastFrom {
			lastFrom, lastNum = l.From, x.num(&l.From)
		}
		from, to, rel := lastNum, x.num(&l.To), intern(&x.rels, x.relNum, l.Rel)
		if x.has(from, to, rel) {
			continue
		}
		x.addLink(from, to, rel, l.Seq)
		fresh.Links = append(fresh.Links, l)
	}
	if b.Through > x.through {
		x.through = b.Through
	}
	x.fresh = Batch{}
	if cap(fresh.Nodes)+cap(fresh.Links) <= 4096 { // do not keep a huge batch's slices
		x.fresh = fresh
	}
	return fresh
}

func outKey(to int32, rel uint32) uint64 { return uint64(uint32(to))<<32 | uint64(rel) }

// has reports whether from already has the link to to by rel.
func (x *Index) has(from, to int32, rel uint32) bool {
	if x.ents[from].deg[out] > walkLimit {
		_, ok := x.sets[from][outKey(to, rel)]
		return ok
	}
	for i := x.ents[from].head[out]; i >= 0; {
		s := &x.links[i]
		if s.to == to && s.rel == rel {
			return true
		}
		i = s.next[out]
	}
	return false
}

// addLink appends a new link and threads it onto its ends' lists.
func (x *Index) addLink(from, to int32, rel uint32, seq uint64) {
	i := int32(len(x.links))
	x.links = append(room(x.links, 1), stored{from: from, to: to, rel: rel, next: [2]int32{-1, -1}, seq: seq})
	for dir, n := range [2]int32{from, to} {
		e := &x.ents[n]
		if e.tail[dir] < 0 {
			e.head[dir] = i
		} else {
			x.links[e.tail[dir]].next[dir] = i
		}
		e.tail[dir] = i
		e.deg[dir]++
	}
	switch e := &x.ents[from]; {
	case e.deg[out] == walkLimit+1:
		set := make(map[uint64]struct{}, 2*walkLimit)
		for j := e.head[out]; j >= 0; j = x.links[j].next[out] {
			set[outKey(x.links[j].to, x.links[j].rel)] = struct{}{}
		}
		x.sets[from] = set
	case e.deg[out] > walkLimit:
		x.sets[from][outKey(to, rel)] = struct{}{}
	}
}

// Apply adds a batch: nodes and links already known are skipped, and what
// is new is appended to the file (written to the OS, made durable by Sync
// or Close). A batch is persisted as one record: after a crash it is there
// whole or not at all.
func (x *Index) Apply(b Batch) error {
	for _, n := range b.Nodes {
		if n.Type == "" || len(n.Type) > MaxString || len(n.Key) > MaxString {
			return fmt.Errorf("%w: node %s: bad type or key", ErrFormat, n.ID)
		}
	}
	for _, l := range b.Links {
		if l.Rel == "" || len(l.Rel) > MaxString {
			return fmt.Errorf("%w: link %s→%s: bad relation", ErrFormat, l.From, l.To)
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.ents)+2*len(b.Links)+len(b.Nodes) > maxCount || len(x.links)+len(b.Links) > maxCount {
		return fmt.Errorf("%w: %d ids, %d links", ErrFull, len(x.ents), len(x.links))
	}
	before := x.through
	fresh := x.add(b)
	if x.file == nil || (len(fresh.Nodes) == 0 && len(fresh.Links) == 0 && fresh.Through <= before) {
		return nil
	}
	x.enc = AppendBatch(x.enc[:0], fresh)
	if cap(x.enc) > 1<<20 {
		defer func() { x.enc = nil }() // do not keep a huge batch's buffer
	}
	if err := x.file.Append(x.enc); err != nil {
		return fmt.Errorf("xref: %w", err)
	}
	if err := x.file.Flush(); err != nil {
		return fmt.Errorf("xref: %w", err)
	}
	return nil
}

// Sync makes every applied batch durable.
func (x *Index) Sync() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.file == nil {
		return nil
	}
	return x.file.Sync()
}

// Close syncs and closes the file.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.file == nil {
		return nil
	}
	err := x.file.Close()
	x.file = nil
	return err
}

// Through is the chain position the index covers: every event with a
// lower seq has been indexed.
func (x *Index) Through() uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.through
}

// Len counts nodes and links.
func (x *Index) Len() (nodes, links int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.nodes, len(x.links)
}
