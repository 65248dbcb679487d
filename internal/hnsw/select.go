package hnsw

import (
	"cmp"
	"slices"
	"sync/atomic"
)

// selectNeighbours is the paper's heuristic SELECT-NEIGHBORS (Algorithm 4,
// without extendCandidates or keepPrunedConnections, as in hnswlib): scan
// the candidates closest first and keep one only if it is closer to the
// base element than to every neighbour kept so far. This keeps links that
// point in diverse directions, which is what lets clustered data stay
// connected. cands must be sorted by ascending distance; the survivors are
// appended to out[:0].
func (x *Index) selectNeighbours(cands []item, m int, out []item) []item {
	out = out[:0]
	if len(cands) <= m {
		return append(out, cands...)
	}
	for _, c := range cands {
		if len(out) >= m {
			break
		}
		vc := x.vec(c.id)
		good := true
		for _, r := range out {
			if x.dist(vc, x.vec(r.id)) < c.dist {
				good = false
				break
			}
		}
		if good {
			out = append(out, c)
		}
	}
	return out
}

// addLink adds the edge from→to on layer (d is their distance). If from's
// list is full, the list plus the new edge is pruned back to capacity with
// the heuristic. Writers hold from's stripe lock; readers load the words
// atomically and may observe a list mid-update, which only costs a little
// search quality for that one traversal, never an invalid id.
func (x *Index) addLink(s *searcher, from, to uint32, d float32, layer int) {
	mu := x.lockFor(from)
	mu.Lock()
	defer mu.Unlock()
	l := x.list(from, layer)
	capacity := len(l) - 1
	n := int(l[0])
	for i := 1; i <= n; i++ {
		if l[i] == to {
			return
		}
	}
	if n < capacity {
		atomic.StoreUint32(&l[n+1], to)
		atomic.StoreUint32(&l[0], uint32(n+1))
		return
	}
	vf := x.vec(from)
	c := s.lbuf[:0]
	for i := 1; i <= n; i++ {
		c = append(c, item{x.dist(vf, x.vec(l[i])), l[i]})
	}
	c = append(c, item{d, to})
	slices.SortFunc(c, func(a, b item) int { return cmp.Compare(a.dist, b.dist) })
	sel := x.selectNeighbours(c, capacity, s.lsel)
	for i, it := range sel {
		atomic.StoreUint32(&l[i+1], it.id)
	}
	atomic.StoreUint32(&l[0], uint32(len(sel)))
	s.lbuf, s.lsel = c, sel
}
