package memory

import (
	"cmp"
	"math"
	"slices"

	"github.com/weftos/weftos/internal/entity"
)

// Graph propagation (component CompGraph): personalized PageRank over the
// memory's own graph — records linked to the rare terms of their text (the
// lexical index's postings: a term shared by few records is, in practice,
// a name, a place, a thing) and to the records just before and after them
// in their group — seeded by the best BM25 hits and by the terms of the
// entities the query names (internal/entity). A question whose evidence
// is spread over several records finds the ones that share no word with
// it but share a rare term with a record that does. The walk is local
// push (Andersen, Chung & Lang 2006), bounded by graphMaxPush pushes of
// nodes with at most graphMaxDF records per term, so its cost does not
// grow with the store.
const (
	graphAlpha     = 0.15 // restart probability
	graphEpsilon   = 2e-3 // a node is pushed while its residual exceeds this
	graphMaxPush   = 500  // pushes per search, at most (LoCoMo: 369 on average)
	graphSeeds     = 10   // best BM25 hits seeding the walk
	graphEntity    = 0.5  // seed mass of the query's entities, against 1 for the hits
	graphNeighbour = 0.3  // share of a record's walk to its neighbours
	graphMaxDF     = 16   // terms in more records than this are not walked
)

// termNode marks a term id as a node of the walk (records are labels).
const termNode = uint64(1) << 63

// inText reports whether the record label has the term of postings ps in
// its text (not only in its speaker or date: a session's date is shared by
// all its turns, and the session component already propagates that).
func inText(ps []posting, label uint64) bool {
	i, found := slices.BinarySearchFunc(ps, label, func(p posting, l uint64) int { return cmpU64(p.label, l) })
	return found && ps[i].tf[fieldText] > 0
}

// entityTerms returns the lexical terms of the entities query names.
func entityTerms(query string) []string {
	var out []string
	for _, e := range entity.Extract(query) {
		text := e.Text
		if e.Kind == entity.KindDate {
			text = e.Key
		}
		out = tokenize(out, text)
	}
	return out
}

// graphScores runs the walk and returns each accepted record's PageRank
// mass.
func (x *lexIndex) graphScores(bm map[uint64]float64, qents []string, accept func(uint64) bool) map[uint64]float64 {
	n := len(x.docs)
	if n == 0 {
		return nil
	}
	idf := func(t uint32) float64 {
		df := float64(len(x.post[t]))
		return math.Log(1 + (float64(n)-df+0.5)/(df+0.5))
	}
	walkable := func(t uint32) bool { l := len(x.post[t]); return l > 0 && l <= graphMaxDF }
	ok := func(l uint64) bool { _, in := x.docs[l]; return in && (accept == nil || accept(l)) }

	// The walk's nodes, numbered as first touched: their residual and
	// PageRank mass, and their transitions, worked out once per search.
	type node struct {
		key    uint64
		r, p   float64
		queued bool
		built  bool
		to     []int32
		w      []float64 // transition probabilities, summing to 1
	}
	var nodes []node
	index := map[uint64]int32{}
	id := func(key uint64) int32 {
		if i, found := index[key]; found {
			return i
		}
		i := int32(len(nodes))
		nodes = append(nodes, node{key: key})
		index[key] = i
		return i
	}
	// Seeds: the best BM25 hits by score, and the query's entity terms.
	hits := make([]scored, 0, len(bm))
	for l, s := range bm {
		if s > 0 {
			hits = append(hits, scored{l, s})
		}
	}
	slices.SortFunc(hits, func(a, b scored) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.label, b.label)
	})
	hits = hits[:min(len(hits), graphSeeds)]
	total := 0.0
	for _, h := range hits {
		total += h.score
	}
	seeds := map[uint64]float64{}
	for _, h := range hits {
		seeds[h.label] += h.score / total
	}
	var ents []uint32
	for _, t := range qents {
		if tid, found := x.ids[t]; found && walkable(tid) && !slices.Contains(ents, tid) {
			ents = append(ents, tid)
		}
	}
	for _, tid := range ents {
		seeds[termNode|uint64(tid)] += graphEntity / float64(len(ents))
	}
	if len(seeds) == 0 {
		return nil
	}
	keys := make([]uint64, 0, len(seeds))
	for u := range seeds {
		keys = append(keys, u)
	}
	slices.Sort(keys) // deterministic order
	queue := make([]int32, 0, len(keys))
	for _, u := range keys {
		i := id(u)
		nodes[i].r, nodes[i].queued = seeds[u], true
		queue = append(queue, i)
	}
	build := func(i int32) {
		u := nodes[i].key
		var to []int32
		var w []float64
		if u&termNode != 0 { // a term: to the records that contain it
			for _, ps := range x.post[uint32(u&^termNode)] {
				if ps.tf[fieldText] > 0 && ok(ps.label) {
					to = append(to, id(ps.label))
				}
			}
			for range to {
				w = append(w, 1/float64(len(to)))
			}
		} else { // a record: to its rare terms (by idf) and its neighbours
			d := x.docs[u]
			sum := 0.0
			for _, t := range d.terms {
				if walkable(t) && inText(x.post[t], u) {
					f := idf(t)
					to, w = append(to, id(termNode|uint64(t))), append(w, f)
					sum += f
				}
			}
			nt := len(to)
			for _, v := range [2]uint64{d.prev, d.next} {
				if v != 0 && ok(v) {
					to = append(to, id(v))
				}
			}
			nb := len(to) - nt
			toTerms, toNb := 1-graphNeighbour, graphNeighbour
			switch {
			case nt == 0:
				toTerms, toNb = 0, 1
			case nb == 0:
				toTerms, toNb = 1, 0
			}
			for k := range w {
				w[k] *= toTerms / sum
			}
			for range nb {
				w = append(w, toNb/float64(nb))
			}
		}
		nodes[i].to, nodes[i].w, nodes[i].built = to, w, true
	}
	for pushes := 0; len(queue) > 0 && pushes < graphMaxPush; pushes++ {
		u := queue[0]
		queue = queue[1:]
		if !nodes[u].built {
			build(u)
		}
		nu := &nodes[u]
		nu.queued = false
		ru := nu.r
		nu.r = 0
		nu.p += graphAlpha * ru
		rest := (1 - graphAlpha) * ru
		if len(nu.to) == 0 {
			nu.p += rest
			continue
		}
		for k, v := range nu.to {
			nv := &nodes[v]
			nv.r += rest * nu.w[k]
			if !nv.queued && nv.r > graphEpsilon {
				nv.queued = true
				queue = append(queue, v)
			}
		}
	}
	out := make(map[uint64]float64)
	for i := range nodes {
		if u := nodes[i].key; u&termNode == 0 && nodes[i].p > 0 && ok(u) {
			out[u] = nodes[i].p
		}
	}
	return out
}
