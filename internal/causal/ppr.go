package causal

import (
	"slices"
	"sync"
)

// PPROptions tune personalized PageRank.
type PPROptions struct {
	// Alpha is the restart probability (default 0.15).
	Alpha float64
	// Epsilon is the residual threshold per unit of weighted degree
	// (default 1e-4): the work is O(1/(Epsilon·Alpha)), whatever the
	// graph's size.
	Epsilon float64
	// K is how many nodes to return (default 20).
	K int
	// Types restricts the edges walked (default: all).
	Types []Type
}

// Scored is a node and its PageRank mass.
type Scored struct {
	ID    ID      `json:"id"`
	Score float64 `json:"score"`
}

type pprWork struct {
	p, r    []float64
	inQueue []bool
	touched []uint32
	queue   []uint32
}

var pprPool = sync.Pool{New: func() any { return &pprWork{} }}

// PPR ranks nodes by personalized PageRank from seeds (id → weight), over
// edges in both directions weighted by their weight, with the local push
// algorithm (Andersen, Chung & Lang 2006). Unknown seeds are ignored.
func (g *Graph) PPR(seeds map[ID]float64, o PPROptions) []Scored {
	if o.Alpha <= 0 || o.Alpha >= 1 {
		o.Alpha = 0.15
	}
	if o.Epsilon <= 0 {
		o.Epsilon = 1e-4
	}
	if o.K <= 0 {
		o.K = 20
	}
	var mask uint16
	for _, t := range o.Types {
		mask |= 1 << t
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	n := len(g.ids)
	w := pprPool.Get().(*pprWork)
	defer pprPool.Put(w)
	if len(w.p) < n {
		w.p, w.r, w.inQueue = make([]float64, n), make([]float64, n), make([]bool, n)
	}
	defer func() {
		for _, u := range w.touched {
			w.p[u], w.r[u], w.inQueue[u] = 0, 0, false
		}
		w.touched, w.queue = w.touched[:0], w.queue[:0]
	}()
	total := 0.0
	for id, s := range seeds {
		if _, ok := g.idx[id]; ok && s > 0 {
			total += s
		}
	}
	if total == 0 {
		return nil
	}
	touch := func(u uint32) {
		if w.p[u] == 0 && w.r[u] == 0 && !w.inQueue[u] {
			w.touched = append(w.touched, u)
		}
	}
	for id, s := range seeds {
		if u, ok := g.idx[id]; ok && s > 0 {
			touch(u)
			w.r[u] += s / total
			if !w.inQueue[u] {
				w.inQueue[u] = true
				w.queue = append(w.queue, u)
			}
		}
	}
	deg := func(u uint32) float64 {
		if mask == 0 {
			return g.wdeg[u]
		}
		d := 0.0
		for _, set := range [2][]uint32{g.out[u], g.in[u]} {
			for _, ix := range set {
				if e := &g.edges[ix]; mask == 0 || mask&(1<<e.typ) != 0 {
					d += float64(e.w)
				}
			}
		}
		return d
	}
	for head := 0; head < len(w.queue); head++ {
		u := w.queue[head]
		w.inQueue[u] = false
		ru := w.r[u]
		w.r[u] = 0
		w.p[u] += o.Alpha * ru
		du := deg(u)
		if du == 0 {
			w.p[u] += (1 - o.Alpha) * ru
			continue
		}
		share := (1 - o.Alpha) * ru / du
		for _, set := range [2][]uint32{g.out[u], g.in[u]} {
			for _, ix := range set {
				e := &g.edges[ix]
				if (mask != 0 && mask&(1<<e.typ) == 0) || e.w == 0 {
					continue
				}
				v := e.to
				if v == u {
					v = e.from
				}
				touch(v)
				w.r[v] += share * float64(e.w)
				if !w.inQueue[v] && w.r[v] > o.Epsilon*deg(v) {
					w.inQueue[v] = true
					w.queue = append(w.queue, v)
				}
			}
		}
		if head > 1<<16 && head > len(w.queue)/2 { // reclaim the consumed prefix
			w.queue = append(w.queue[:0], w.queue[head+1:]...)
			head = -1
		}
	}
	out := make([]Scored, 0, len(w.touched))
	for _, u := range w.touched {
		if w.p[u] > 0 {
			out = append(out, Scored{ID: g.ids[u], Score: w.p[u]})
		}
	}
	slices.SortFunc(out, func(a, b Scored) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return slices.Compare(a.ID[:], b.ID[:])
	})
	if len(out) > o.K {
		out = out[:o.K]
	}
	return out
}
