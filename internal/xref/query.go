package xref

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// Node returns a node.
func (x *Index) Node(id ID) (Node, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.find(&id)
	if !ok {
		return Node{}, false
	}
	return x.node(e)
}

// Key returns the node holding a key ("seq:42").
func (x *Index) Key(key string) (Node, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e := x.keyEntry(key)
	if e < 0 {
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
	var h [2 * len(ID{})]byte
	for i := range x.ents {
		e := &x.ents[i]
		if e.typ == 0 || len(p) > len(h) {
			continue
		}
		hex.Encode(h[:], e.id[:])
		if string(h[:len(p)]) == p {
			found = append(found, e.id)
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
func (x *Index) Out(id ID) []Link { return x.links1(id, out) }

// In lists the links to id, in the order they were added.
func (x *Index) In(id ID) []Link { return x.links1(id, in) }

func (x *Index) links1(id ID, dir int) []Link {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.find(&id)
	if !ok {
		return nil
	}
	return x.linksOf(e, dir)
}

// Neighbourhood walks links in both directions from id, breadth first, to
// depth hops, stopping after limit links. It returns the nodes reached
// (the root first) and the links walked, each once.
func (x *Index) Neighbourhood(id ID, depth, limit int) ([]Node, []Link) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.find(&id)
	if !ok {
		return nil, nil
	}
	root, ok := x.node(e)
	if !ok {
		return nil, nil
	}
	nodes := []Node{root}
	seen := map[int32]bool{e: true}
	used := map[int32]bool{}
	var links []Link
	frontier := []int32{e}
	for d := 0; d < depth && len(frontier) > 0; d++ {
		var next []int32
		for _, at := range frontier {
			for dir := range 2 {
				for i := x.ents[at].head[dir]; i >= 0; i = x.links[i].next[dir] {
					if used[i] {
						continue
					}
					if len(links) >= limit {
						return nodes, links
					}
					used[i] = true
					links = append(links, x.link(i))
					for _, other := range [2]int32{x.links[i].from, x.links[i].to} {
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

// KeyID is the id of the node holding a key, as Key, without making the
// node.
func (x *Index) KeyID(key string) (ID, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e := x.keyEntry(key)
	if e < 0 || x.ents[e].typ == 0 {
		return ID{}, false
	}
	return x.ents[e].id, true
}

// FirstIn is the from end of the first link to id by rel (in the order
// added), as a search of In(id) finds it, without listing the links.
func (x *Index) FirstIn(id ID, rel string) (ID, bool) { return x.first(id, rel, in) }

// FirstOut is the to end of the first link from id by rel.
func (x *Index) FirstOut(id ID, rel string) (ID, bool) { return x.first(id, rel, out) }

func (x *Index) first(id ID, rel string, dir int) (ID, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.find(&id)
	r, known := x.relNum[rel]
	if !ok || !known {
		return ID{}, false
	}
	for i := x.ents[e].head[dir]; i >= 0; i = x.links[i].next[dir] {
		if s := &x.links[i]; s.rel == r {
			return x.ents[[2]int32{s.to, s.from}[dir]].id, true
		}
	}
	return ID{}, false
}
