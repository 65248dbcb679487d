package causal

import (
	"math"
	"slices"
)

// unset marks a node with no position yet in a type's order: it has no
// edge of that type.
const unset = math.MinInt64

// order is an incremental topological order of one edge type's subgraph
// (Pearce & Kelly, "A dynamic topological sort algorithm for directed
// acyclic graphs", 2006). Positions are distinct integers, not
// necessarily dense: a node's first edge places it before (as a source)
// or after (as a target) everything, so linking a new node never
// searches. An edge that agrees with the order costs O(1); one that does
// not searches only the nodes between its ends and reorders them.
type order struct {
	pos    []int64
	lo, hi int64
}

func (o *order) push(uint32) { o.pos = append(o.pos, unset) }

// add places x before y, reordering if needed. It returns the cycle (y …
// x) when y already reaches x along edges of type t, and then changes
// nothing.
func (o *order) add(g *Graph, x, y uint32, t Type) []uint32 {
	if o.pos[x] == unset {
		o.lo--
		o.pos[x] = o.lo
	}
	if o.pos[y] == unset {
		o.hi++
		o.pos[y] = o.hi
	}
	lb, ub := o.pos[y], o.pos[x]
	if lb > ub {
		return nil
	}
	// Forward from y through nodes placed before x: reaching x is a cycle.
	fm := g.mark()
	parent := map[uint32]uint32{}
	var deltaF []uint32
	stack := []uint32{y}
	g.marks[y] = fm
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		deltaF = append(deltaF, n)
		for _, ix := range g.out[n] {
			e := &g.edges[ix]
			if e.typ != t {
				continue
			}
			w := e.to
			if w == x {
				path := []uint32{x}
				for at := n; ; at = parent[at] {
					path = append(path, at)
					if at == y {
						break
					}
				}
				slices.Reverse(path) // y … n, x
				return path
			}
			if g.marks[w] != fm && o.pos[w] < ub {
				g.marks[w] = fm
				parent[w] = n
				stack = append(stack, w)
			}
		}
	}
	// Backward from x through nodes placed after y.
	bm := g.mark()
	var deltaB []uint32
	stack = append(stack[:0], x)
	g.marks[x] = bm
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		deltaB = append(deltaB, n)
		for _, ix := range g.in[n] {
			e := &g.edges[ix]
			if e.typ != t {
				continue
			}
			w := e.from
			if g.marks[w] != bm && o.pos[w] > lb {
				g.marks[w] = bm
				stack = append(stack, w)
			}
		}
	}
	// Everything that reaches x goes before everything y reaches, in the
	// positions they held, each side keeping its relative order.
	byPos := func(a, b uint32) int {
		if o.pos[a] < o.pos[b] {
			return -1
		}
		return 1
	}
	slices.SortFunc(deltaB, byPos)
	slices.SortFunc(deltaF, byPos)
	slots := make([]int64, 0, len(deltaB)+len(deltaF))
	for _, n := range deltaB {
		slots = append(slots, o.pos[n])
	}
	for _, n := range deltaF {
		slots = append(slots, o.pos[n])
	}
	slices.Sort(slots)
	i := 0
	for _, n := range deltaB {
		o.pos[n] = slots[i]
		i++
	}
	for _, n := range deltaF {
		o.pos[n] = slots[i]
		i++
	}
	return nil
}
