package xref

import (
	"errors"
	"fmt"
	"sort"
	"strings"
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
// keeps, per number, the node and the positions of its links; links are
// stored once, by number, without pointers. A link costs one lookup per
// end and one in the small-keyed seen set, and the garbage collector has
// no links to scan.

// linkKey identifies a link: its ends and relation by number.
type linkKey struct {
	from, to int
	rel      uint32
}

// stored is a link as the index keeps it.
type stored struct {
	linkKey
	seq uint64
}

// entry is what the index knows of one id.
type entry struct {
	id      ID
	node    Node // when known
	known   bool
	out, in []int // positions in Index.links, in the order added
}

// Index is the forward and reverse cross-reference index. Safe for
// concurrent use.
type Index struct {
	mu      sync.RWMutex
	file    *recfile.File // nil for an in-memory index
	ids     map[ID]int    // id → its number, an index in ents
	ents    []entry
	nodes   int // known entries
	keys    map[string]int
	links   []stored
	seen    map[linkKey]struct{}
	rels    []string // relation names by number
	relNum  map[string]uint32
	through uint64
	fresh   Batch  // what the last add found new (reused)
	enc     []byte // its encoding (reused)
}

// New returns an empty in-memory index.
func New() *Index {
	return &Index{ids: map[ID]int{}, keys: map[string]int{}, seen: map[linkKey]struct{}{}, relNum: map[string]uint32{}}
}

// num numbers id, adding an entry if it is new.
func (x *Index) num(id ID) int {
	n, ok := x.ids[id]
	if !ok {
		n = len(x.ents)
		x.ents = append(x.ents, entry{id: id})
		x.ids[id] = n
	}
	return n
}

// rel numbers a relation name, adding it if it is new.
func (x *Index) rel(name string) uint32 {
	n, ok := x.relNum[name]
	if !ok {
		n = uint32(len(x.rels))
		x.rels = append(x.rels, name)
		x.relNum[name] = n
	}
	return n
}

// link is the stored link at position i.
func (x *Index) link(i int) Link {
	s := x.links[i]
	return Link{From: x.ents[s.from].id, To: x.ents[s.to].id, Rel: x.rels[s.rel], Seq: s.seq}
}

func (x *Index) linksAt(pos []int) []Link {
	if pos == nil {
		return nil
	}
	out := make([]Link, len(pos))
	for i, p := range pos {
		out[i] = x.link(p)
	}
	return out
}

// node is the node numbered n, if known.
func (x *Index) node(n int) (Node, bool) {
	e := &x.ents[n]
	return e.node, e.known
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
		e, ok := x.ids[n.ID]
		known := ok && x.ents[e].known
		if known && (x.ents[e].node.Key != "" || n.Key == "") {
			continue
		}
		if n.Key != "" {
			if other, taken := x.keys[n.Key]; taken && x.ents[other].id != n.ID {
				n.Key = "" // keys are unique: the first holder keeps it
			} else {
				e = x.num(n.ID)
				x.keys[n.Key] = e
			}
		}
		if known && n.Key == "" {
			continue
		}
		e = x.num(n.ID)
		if !x.ents[e].known {
			x.ents[e].known = true
			x.nodes++
		}
		x.ents[e].node = n
		fresh.Nodes = append(fresh.Nodes, n)
	}
	for _, l := range b.Links {
		k := linkKey{x.num(l.From), x.num(l.To), x.rel(l.Rel)}
		if _, dup := x.seen[k]; dup {
			continue
		}
		x.seen[k] = struct{}{}
		i := len(x.links)
		x.links = append(x.links, stored{linkKey: k, seq: l.Seq})
		x.ents[k.from].out = append(x.ents[k.from].out, i)
		x.ents[k.to].in = append(x.ents[k.to].in, i)
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

// Node returns a node.
func (x *Index) Node(id ID) (Node, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.ids[id]
	if !ok {
		return Node{}, false
	}
	return x.node(e)
}

// Key returns the node holding a key ("seq:42").
func (x *Index) Key(key string) (Node, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.keys[key]
	if !ok {
		return Node{}, false
	}
	return x.node(e)
}

// Resolve turns what an operator typed into an id: a full hex id, a key
// ("seq:42", "session:NAME", "pid:7", "memory:CONTENTID"), or a unique hex
// prefix of at least MinPrefix digits.
func (x *Index) Resolve(s string) (ID, error) {
	if id, err := ParseID(s); err == nil {
		if _, ok := x.Node(id); !ok {
			return id, fmt.Errorf("%w: %s", ErrNotFound, s)
		}
		return id, nil
	}
	if n, ok := x.Key(s); ok {
		return n.ID, nil
	}
	p := strings.ToLower(s)
	if len(p) < MinPrefix || strings.Trim(p, "0123456789abcdef") != "" {
		return ID{}, fmt.Errorf("%w: %q is neither an id, a key nor a hex prefix of %d+ digits", ErrNotFound, s, MinPrefix)
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	var found []ID
	for i := range x.ents {
		if id := x.ents[i].id; x.ents[i].known && strings.HasPrefix(id.String(), p) {
			found = append(found, id)
			if len(found) > 1 {
				return ID{}, fmt.Errorf("%w: %s", ErrAmbiguous, s)
			}
		}
	}
	if len(found) == 0 {
		return ID{}, fmt.Errorf("%w: %s", ErrNotFound, s)
	}
	return found[0], nil
}

// Out lists the links from id, in the order they were added.
func (x *Index) Out(id ID) []Link {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.ids[id]
	if !ok {
		return nil
	}
	return x.linksAt(x.ents[e].out)
}

// In lists the links to id, in the order they were added.
func (x *Index) In(id ID) []Link {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.ids[id]
	if !ok {
		return nil
	}
	return x.linksAt(x.ents[e].in)
}

// Neighbourhood walks links in both directions from id, breadth first, to
// depth hops, stopping after limit links. It returns the nodes reached
// (the root first) and the links walked, each once.
func (x *Index) Neighbourhood(id ID, depth, limit int) ([]Node, []Link) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.ids[id]
	if !ok {
		return nil, nil
	}
	root, ok := x.node(e)
	if !ok {
		return nil, nil
	}
	nodes := []Node{root}
	seen := map[int]bool{e: true}
	used := map[int]bool{}
	var links []Link
	frontier := []int{e}
	for d := 0; d < depth && len(frontier) > 0; d++ {
		var next []int
		for _, at := range frontier {
			for _, set := range [2][]int{x.ents[at].out, x.ents[at].in} {
				for _, i := range set {
					if used[i] {
						continue
					}
					if len(links) >= limit {
						return nodes, links
					}
					used[i] = true
					links = append(links, x.link(i))
					for _, other := range [2]int{x.links[i].from, x.links[i].to} {
						if !seen[other] {
							seen[other] = true
							n, ok := x.node(other)
							if !ok {
								n = Node{ID: x.ents[other].id, Type: "unknown"}
							}
							nodes = append(nodes, n)
							next = append(next, other)
						}
					}
				}
			}
		}
		frontier = next
	}
	sort.SliceStable(nodes[1:], func(i, j int) bool { return nodes[1+i].Type < nodes[1+j].Type })
	return nodes, links
}
