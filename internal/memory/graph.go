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
// push (Andersen, Chung & Lang 2006), bounded by graphMaxPush pushes, so
// its cost does not grow with the store.
const (
	graphAlpha     = 0.15 // restart probability
	graphEpsilon   = 2e-3 // a node is pushed while its residual exceeds this
	graphMaxPush   = 500  // pushes per search, at most (LoCoMo: 369 on average)
	graphSeeds     = 10   // best BM25 hits seeding the walk
	graphEntity    = 0.5  // seed mass of the query's entities, against 1 for the hits
	graphNeighbour = 0.3  // share of a record's walk to its neighbours
	graphMinDFCap  = 16   // terms in more records than max(this, N/50) are not walked
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
	dfCap := max(graphMinDFCap, n/50)
	idf := func(t uint32) float64 {
		df := float64(len(x.post[t]))
		return math.Log(1 + (float64(n)-df+0.5)/(df+0.5))
	}
	walkable := func(t uint32) bool { l := len(x.post[t]); return l > 0 && l <= dfCap }
	ok := func(l uint64) bool { _, in := x.docs[l]; return in && (accept == nil || accept(l)) }

	r := map[uint64]float64{}
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
	for _, h := range hits {
		r[h.label] += h.score / total
	}
	var ents []uint32
	for _, t := range qents {
		if id, found := x.ids[t]; found && walkable(id) && !slices.Contains(ents, id) {
			ents = append(ents, id)
		}
	}
	for _, id := range ents {
		r[termNode|uint64(id)] += graphEntity / float64(len(ents))
	}
	if len(r) == 0 {
		return nil
	}
	p := map[uint64]float64{}
	queue := make([]uint64, 0, len(r))
	for u := range r {
		queue = append(queue, u)
	}
	slices.Sort(queue) // deterministic order
	queued := map[uint64]bool{}
	for _, u := range queue {
		queued[u] = true
	}
	// Each node's transitions are worked out once per search.
	type trans struct {
		to []uint64
		w  []float64 // probabilities, summing to 1
	}
	memo := map[uint64]*trans{}
	transitions := func(u uint64) *trans {
		if tr, found := memo[u]; found {
			return tr
		}
		tr := &trans{}
		if u&termNode != 0 { // a term: to the records that contain it
			for _, ps := range x.post[uint32(u&^termNode)] {
				if ps.tf[fieldText] > 0 && ok(ps.label) {
					tr.to = append(tr.to, ps.label)
				}
			}
			for range tr.to {
				tr.w = append(tr.w, 1/float64(len(tr.to)))
			}
		} else { // a record: to its rare terms (by idf) and its neighbours
			d := x.docs[u]
			sum := 0.0
			for _, t := range d.terms {
				if walkable(t) && inText(x.post[t], u) {
					f := idf(t)
					tr.to, tr.w = append(tr.to, termNode|uint64(t)), append(tr.w, f)
					sum += f
				}
			}
			nt := len(tr.to)
			for _, v := range [2]uint64{d.prev, d.next} {
				if v != 0 && ok(v) {
					tr.to = append(tr.to, v)
				}
			}
			nb := len(tr.to) - nt
			toTerms, toNb := 1-graphNeighbour, graphNeighbour
			switch {
			case nt == 0:
				toTerms, toNb = 0, 1
			case nb == 0:
				toTerms, toNb = 1, 0
			}
			for i := range tr.w {
				tr.w[i] *= toTerms / sum
			}
			for range nb {
				tr.w = append(tr.w, toNb/float64(nb))
			}
		}
		memo[u] = tr
		return tr
	}
	for pushes := 0; len(queue) > 0 && pushes < graphMaxPush; pushes++ {
		u := queue[0]
		queue = queue[1:]
		queued[u] = false
		ru := r[u]
		r[u] = 0
		p[u] += graphAlpha * ru
		rest := (1 - graphAlpha) * ru
		tr := transitions(u)
		if len(tr.to) == 0 {
			p[u] += rest
			continue
		}
		for i, v := range tr.to {
			r[v] += rest * tr.w[i]
			if !queued[v] && r[v] > graphEpsilon {
				queued[v] = true
				queue = append(queue, v)
			}
		}
	}
	out := make(map[uint64]float64, len(p))
	for u, m := range p {
		if u&termNode == 0 && m > 0 && ok(u) {
			out[u] = m
		}
	}
	return out
}
