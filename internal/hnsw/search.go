package hnsw

import (
	"fmt"
	"slices"
	"sync/atomic"
)

// Result is one search hit.
type Result struct {
	Label    uint64
	Distance float32
}

// SearchOptions tunes one search.
type SearchOptions struct {
	// Ef is the candidate-list size (0: the index default). A search
	// always uses at least k.
	Ef int
	// Filter, if set, is called during the traversal with the label of
	// each candidate; only labels for which it returns true are returned.
	// Rejected nodes are still traversed, so the graph stays connected. A
	// very selective filter makes the search visit more of the graph. It
	// must be safe for concurrent use if searches run concurrently.
	Filter func(label uint64) bool
}

// searcher holds the per-search scratch state; searchers are pooled.
type searcher struct {
	visited []uint16
	epoch   uint16
	cand    minHeap
	res     maxHeap
	buf     []item // candidates of the node being inserted
	sel     []item // its selected neighbours
	lbuf    []item // candidates while shrinking a full list
	lsel    []item // survivors of the shrink
}

func (x *Index) getSearcher() *searcher {
	s, _ := x.pool.Get().(*searcher)
	if s == nil {
		s = &searcher{}
	}
	if len(s.visited) < x.capacity {
		s.visited = make([]uint16, x.capacity)
		s.epoch = 0
	}
	return s
}

func (x *Index) putSearcher(s *searcher) { x.pool.Put(s) }

// Search returns the k nearest live vectors to q, closest first, using the
// index's default ef.
func (x *Index) Search(q []float32, k int) ([]Result, error) {
	return x.SearchWith(q, k, SearchOptions{})
}

// SearchWith is Search with per-call options (ef, filter).
func (x *Index) SearchWith(q []float32, k int, o SearchOptions) ([]Result, error) {
	if k < 1 {
		return nil, fmt.Errorf("%w: k must be positive", ErrInvalidConfig)
	}
	if o.Ef < 0 || o.Ef > MaxEf {
		return nil, fmt.Errorf("%w: ef %d", ErrInvalidConfig, o.Ef)
	}
	q, err := x.prepare(q)
	if err != nil {
		return nil, err
	}
	ef := o.Ef
	if ef == 0 {
		ef = x.cfg.Ef
	}
	ef = max(ef, k)

	x.growMu.RLock()
	defer x.growMu.RUnlock()
	e := x.ep.Load()
	if e == 0 {
		return nil, nil
	}
	cur, top := unpackEP(e)
	curD := x.dist(q, x.vec(cur))
	for l := top; l > 0; l-- {
		cur, curD = x.greedy(q, cur, curD, l)
	}
	s := x.getSearcher()
	defer x.putSearcher(s)
	var accept func(uint32) bool
	hasDeleted := x.nDeleted.Load() > 0
	switch {
	case o.Filter != nil:
		f := o.Filter
		accept = func(id uint32) bool { return !x.isDeleted(id) && f(x.labels[id]) }
	case hasDeleted:
		accept = func(id uint32) bool { return !x.isDeleted(id) }
	}
	x.searchLayer(s, q, cur, curD, ef, 0, accept)
	for len(s.res) > k {
		s.res.pop()
	}
	out := make([]Result, len(s.res))
	for i := len(out) - 1; i >= 0; i-- {
		it := s.res.pop()
		out[i] = Result{Label: x.labels[it.id], Distance: it.dist}
	}
	return out, nil
}

// greedy walks layer from cur to a local minimum of the distance to q.
func (x *Index) greedy(q []float32, cur uint32, curD float32, layer int) (uint32, float32) {
	for changed := true; changed; {
		changed = false
		l := x.list(cur, layer)
		n := min(int(atomic.LoadUint32(&l[0])), len(l)-1)
		for i := 1; i <= n; i++ {
			nb := atomic.LoadUint32(&l[i])
			if d := x.dist(q, x.vec(nb)); d < curD {
				cur, curD, changed = nb, d, true
			}
		}
	}
	return cur, curD
}

// searchLayer is the paper's SEARCH-LAYER (Algorithm 2) from one entry
// point. On return s.res holds up to ef accepted nodes (a max-heap).
// accept == nil accepts every node; rejected nodes are expanded but not
// added to the results.
func (x *Index) searchLayer(s *searcher, q []float32, ep uint32, epD float32, ef, layer int, accept func(uint32) bool) {
	s.epoch++
	if s.epoch == 0 {
		clear(s.visited)
		s.epoch = 1
	}
	s.cand = s.cand[:0]
	s.res = s.res[:0]
	vis, epoch := s.visited, s.epoch
	vis[ep] = epoch
	s.cand.push(item{epD, ep})
	bound := float32(0)
	if accept == nil || accept(ep) {
		s.res.push(item{epD, ep})
		bound = epD
	}
	for len(s.cand) > 0 {
		c := s.cand.pop()
		if c.dist > bound && len(s.res) >= ef {
			break
		}
		l := x.list(c.id, layer)
		n := min(int(atomic.LoadUint32(&l[0])), len(l)-1)
		for i := 1; i <= n; i++ {
			nb := atomic.LoadUint32(&l[i])
			if vis[nb] == epoch {
				continue
			}
			vis[nb] = epoch
			d := x.dist(q, x.vec(nb))
			if len(s.res) < ef || d < bound {
				s.cand.push(item{d, nb})
				if accept == nil || accept(nb) {
					s.res.push(item{d, nb})
					if len(s.res) > ef {
						s.res.pop()
					}
					bound = s.res[0].dist
				}
			}
		}
	}
}

// link connects a freshly allocated node (vector stored, lists empty) into
// the graph: the paper's INSERT (Algorithm 1). growMu is held shared.
func (x *Index) link(id uint32, level int) {
	e := x.ep.Load()
	if e == 0 {
		x.epMu.Lock()
		if x.ep.Load() == 0 {
			x.ep.Store(packEP(id, level))
			x.epMu.Unlock()
			return
		}
		x.epMu.Unlock()
		e = x.ep.Load()
	}
	epID, top := unpackEP(e)
	raise := false
	if level > top {
		// A new top node: serialise with other raisers (rare).
		x.epMu.Lock()
		epID, top = unpackEP(x.ep.Load())
		raise = level > top
		if !raise {
			x.epMu.Unlock()
		}
	}
	q := x.vec(id)
	cur := epID
	curD := x.dist(q, x.vec(cur))
	for l := top; l > level; l-- {
		cur, curD = x.greedy(q, cur, curD, l)
	}
	s := x.getSearcher()
	for l := min(level, top); l >= 0; l-- {
		x.searchLayer(s, q, cur, curD, x.cfg.EfConstruction, l, nil)
		cands := s.buf[:0]
		for len(s.res) > 0 {
			it := s.res.pop()
			if it.id != id {
				cands = append(cands, it)
			}
		}
		slices.Reverse(cands) // ascending distance
		s.buf = cands
		if len(cands) == 0 {
			continue
		}
		cur, curD = cands[0].id, cands[0].dist
		s.sel = x.selectNeighbours(cands, x.m, s.sel)
		for _, nb := range s.sel {
			x.addLink(s, id, nb.id, nb.dist, l)
		}
		for _, nb := range s.sel {
			x.addLink(s, nb.id, id, nb.dist, l)
		}
	}
	x.putSearcher(s)
	if raise {
		x.ep.Store(packEP(id, level))
		x.epMu.Unlock()
	}
}
