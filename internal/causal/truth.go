package causal

import "fmt"

// dependents calls fn for every node that is derived from n: sources of
// derived_from and depends_on edges into n, and targets of evidence_for
// edges out of n.
func (g *Graph) dependents(n uint32, fn func(uint32)) {
	for _, ix := range g.in[n] {
		if e := &g.edges[ix]; e.typ == DerivedFrom || e.typ == DependsOn {
			fn(e.from)
		}
	}
	for _, ix := range g.out[n] {
		if e := &g.edges[ix]; e.typ == EvidenceFor {
			fn(e.to)
		}
	}
}

// invalidate marks n superseded and spreads staleness to what is derived
// from it. Callers hold mu.
func (g *Graph) invalidate(n uint32, seq uint64) []ID {
	g.stats.Invalidations++
	if !g.state[n].superseded {
		g.state[n].superseded = true
		if g.state[n].since == 0 {
			g.state[n].since = seq
		}
	}
	var out []ID
	g.dependents(n, func(d uint32) {
		if !g.state[d].stale {
			out = append(out, g.spread(d, seq)...)
		}
	})
	return out
}

// spread marks n and everything transitively derived from it stale,
// stopping at nodes already stale (their dependents already are): the
// work is proportional to the nodes newly marked and their edges.
func (g *Graph) spread(n uint32, seq uint64) []ID {
	var out []ID
	stack := []uint32{n}
	g.state[n].stale, g.state[n].since = true, seq
	g.stats.Stale++
	for len(stack) > 0 {
		at := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		g.stats.Visited++
		out = append(out, g.ids[at])
		g.dependents(at, func(d uint32) {
			if !g.state[d].stale {
				g.state[d].stale, g.state[d].since = true, seq
				g.stats.Stale++
				stack = append(stack, d)
			}
		})
	}
	return out
}

// Step is one edge of a why or impact walk, with its depth (1 = adjacent).
type Step struct {
	Edge  Edge   `json:"edge"`
	Depth int    `json:"depth"`
	Node  ID     `json:"node"` // the node this step reaches
	State Status `json:"state"`
}

// Why walks the evidence behind id: what it was derived from or depends
// on, the evidence for it, what it supersedes and is part of — to depth
// hops, as of asOf.
func (g *Graph) Why(id ID, depth int, asOf AsOf) ([]Step, error) {
	return g.walk(id, depth, asOf, true, true, func(e *edge, n uint32) (uint32, bool) {
		switch {
		case e.from == n && (e.typ == DerivedFrom || e.typ == DependsOn || e.typ == Supersedes || e.typ == PartOf || e.typ == Follows):
			return e.to, true
		case e.to == n && (e.typ == EvidenceFor || e.typ == Contradicts):
			return e.from, true
		}
		return 0, false
	})
}

// Impact walks what depends on id: what was derived from it or depends on
// it, what it is evidence for, what supersedes or contradicts it — to
// depth hops, as of asOf.
func (g *Graph) Impact(id ID, depth int, asOf AsOf) ([]Step, error) {
	return g.walk(id, depth, asOf, true, true, func(e *edge, n uint32) (uint32, bool) {
		switch {
		case e.to == n && (e.typ == DerivedFrom || e.typ == DependsOn || e.typ == Supersedes || e.typ == Contradicts || e.typ == PartOf || e.typ == Follows):
			return e.from, true
		case e.from == n && e.typ == EvidenceFor:
			return e.to, true
		}
		return 0, false
	})
}

// Descendants returns the nodes reachable from id along out-edges (of the
// given types; all when none) within depth hops, as of asOf, nearest
// first.
func (g *Graph) Descendants(id ID, depth int, asOf AsOf, types ...Type) ([]ID, error) {
	var mask uint16
	for _, t := range types {
		mask |= 1 << t
	}
	g.mu.Lock() // marks are shared scratch space
	defer g.mu.Unlock()
	start, ok := g.idx[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	m := g.mark()
	g.marks[start] = m
	var found []uint32
	lo := 0
	found = append(found, start)
	for d := 1; d <= depth && lo < len(found); d++ {
		hi := len(found)
		for _, n := range found[lo:hi] {
			for _, ix := range g.out[n] {
				e := &g.edges[ix]
				if g.marks[e.to] == m || (mask != 0 && mask&(1<<e.typ) == 0) || !asOf.sees(e) {
					continue
				}
				g.marks[e.to] = m
				found = append(found, e.to)
			}
		}
		lo = hi
	}
	out := make([]ID, len(found)-1)
	for i, n := range found[1:] {
		out[i] = g.ids[n]
	}
	return out, nil
}

// walk is a breadth-first walk from id; follow says where an edge at n
// leads, if anywhere; out and in say which of n's edges to look at. Each
// node is reached once.
func (g *Graph) walk(id ID, depth int, asOf AsOf, out, in bool, follow func(e *edge, n uint32) (uint32, bool)) ([]Step, error) {
	g.mu.Lock() // marks are shared scratch space
	defer g.mu.Unlock()
	start, ok := g.idx[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	m := g.mark()
	g.marks[start] = m
	var steps []Step
	frontier := []uint32{start}
	for d := 1; d <= depth && len(frontier) > 0; d++ {
		var next []uint32
		for _, n := range frontier {
			for k, set := range [2][]uint32{g.out[n], g.in[n]} {
				if (k == 0 && !out) || (k == 1 && !in) {
					continue
				}
				for _, ix := range set {
					e := &g.edges[ix]
					if !asOf.sees(e) {
						continue
					}
					to, ok := follow(e, n)
					if !ok || g.marks[to] == m {
						continue
					}
					g.marks[to] = m
					s := g.state[to]
					steps = append(steps, Step{Edge: g.edgeOut(ix), Depth: d, Node: g.ids[to], State: Status{Stale: s.stale, Superseded: s.superseded, Since: s.since}})
					next = append(next, to)
				}
			}
		}
		frontier = next
	}
	return steps, nil
}
