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
	graphEpsilon   = 1e-4 // a node is pushed while its residual exceeds this
	graphMaxPush   = 4000 // pushes per search, at most
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
	var terms []uint32
	for pushes := 0; len(queue) > 0 && pushes < graphMaxPush; pushes++ {
		u := queue[0]
		queue = queue[1:]
		queued[u] = false
		ru := r[u]
		r[u] = 0
		p[u] += graphAlpha * ru
		rest := (1 - graphAlpha) * ru
		give := func(v uint64, m float64) {
			r[v] += m
			if !queued[v] && r[v] > graphEpsilon {
				queued[v] = true
				queue = append(queue, v)
			}
		}
		if u&termNode != 0 { // a term: to the records that contain it
			var to []uint64
			for _, ps := range x.post[uint32(u&^termNode)] {
				if ps.tf[fieldText] > 0 && ok(ps.label) {
					to = append(to, ps.label)
				}
			}
			if len(to) == 0 {
				p[u] += rest
				continue
			}
			for _, v := range to {
				give(v, rest/float64(len(to)))
			}
			continue
		}
		// A record: to its rare terms (by idf) and its neighbours.
		d := x.docs[u]
		terms = terms[:0]
		sum := 0.0
		for _, t := range d.terms {
			if walkable(t) && inText(x.post[t], u) {
				terms = append(terms, t)
				sum += idf(t)
			}
		}
		var nb []uint64
		for _, v := range [2]uint64{d.prev, d.next} {
			if v != 0 && ok(v) {
				nb = append(nb, v)
			}
		}
		toTerms, toNb := 1-graphNeighbour, graphNeighbour
		switch {
		case len(terms) == 0 && len(nb) == 0:
			p[u] += rest
			continue
		case len(terms) == 0:
			toTerms, toNb = 0, 1
		case len(nb) == 0:
			toTerms, toNb = 1, 0
		}
		for _, t := range terms {
			give(termNode|uint64(t), rest*toTerms*idf(t)/sum)
		}
		for _, v := range nb {
			give(v, rest*toNb/float64(len(nb)))
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
