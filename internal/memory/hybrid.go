package memory

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Retrieval components fused by a hybrid search.
const (
	CompBM25     = "bm25"     // BM25F over text, speaker and date
	CompVector   = "vector"   // cosine similarity of the embeddings (HNSW)
	CompNeighbor = "neighbor" // BM25 of the turns just before and after, same session
	CompSession  = "session"  // BM25 of the record's session as a whole
	CompRecency  = "recency"  // newer first
	CompGraph    = "graph"    // personalized PageRank over records and their rare terms, seeded by the BM25 hits and the query's entities
)

// Components lists the components in a fixed order.
var Components = []string{CompBM25, CompVector, CompNeighbor, CompSession, CompRecency, CompGraph}

// Weights are the fusion weights of the components; 0 switches a
// component off.
type Weights struct {
	BM25     float64 `json:"bm25"`
	Vector   float64 `json:"vector"`
	Neighbor float64 `json:"neighbor"`
	Session  float64 `json:"session"`
	Recency  float64 `json:"recency"`
	Graph    float64 `json:"graph"`
}

// DefaultWeights are the default fusion weights (see docs/MEMORY.md for
// how they were chosen). With a lexical-only embedder (one whose
// LexicalOnly method reports true, as embed.Lexical's does) the vector
// weight is 0: its cosine measures shared words, which BM25 already does
// better, and adding it lowered recall on LoCoMo.
var DefaultWeights = Weights{BM25: 1, Vector: 1, Neighbor: 0.45, Session: 0.2, Recency: 0, Graph: 0.2}

// lexicalOnly is implemented by embedders whose vectors only measure
// shared words and word fragments.
type lexicalOnly interface{ LexicalOnly() bool }

// DefaultWeightsFor returns the default weights for a store embedding
// with emb.
func DefaultWeightsFor(emb Embedder) Weights {
	w := DefaultWeights
	if l, ok := emb.(lexicalOnly); ok && l.LexicalOnly() {
		w.Vector = 0
	}
	return w
}

func (w Weights) get(c string) float64 {
	switch c {
	case CompBM25:
		return w.BM25
	case CompVector:
		return w.Vector
	case CompNeighbor:
		return w.Neighbor
	case CompSession:
		return w.Session
	case CompRecency:
		return w.Recency
	case CompGraph:
		return w.Graph
	}
	return 0
}

func (w *Weights) set(c string, v float64) error {
	switch c {
	case CompBM25:
		w.BM25 = v
	case CompVector:
		w.Vector = v
	case CompNeighbor:
		w.Neighbor = v
	case CompSession:
		w.Session = v
	case CompRecency:
		w.Recency = v
	case CompGraph:
		w.Graph = v
	default:
		return fmt.Errorf("%w: unknown component %q (%s)", ErrInvalidOptions, c, strings.Join(Components, ", "))
	}
	return nil
}

// Without returns w with the named components switched off.
func (w Weights) Without(names ...string) (Weights, error) {
	for _, n := range names {
		if err := w.set(strings.TrimSpace(n), 0); err != nil {
			return w, err
		}
	}
	return w, nil
}

// With returns w with component c's weight set to v.
func (w Weights) With(c string, v float64) (Weights, error) {
	err := w.set(strings.TrimSpace(c), v)
	return w, err
}

// Only returns w with every component not named switched off; a named
// component whose weight in w is 0 gets weight 1.
func (w Weights) Only(names ...string) (Weights, error) {
	var out Weights
	for _, n := range names {
		n = strings.TrimSpace(n)
		v := w.get(n)
		if v == 0 {
			v = 1
		}
		if err := out.set(n, v); err != nil {
			return w, err
		}
	}
	return out, nil
}

func (w Weights) validate() error {
	any := false
	for _, c := range Components {
		v := w.get(c)
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: weight of %s is %v", ErrInvalidOptions, c, v)
		}
		any = any || v > 0
	}
	if !any {
		return fmt.Errorf("%w: every retrieval component is switched off", ErrInvalidOptions)
	}
	return nil
}

// SearchOptions tune one search.
type SearchOptions struct {
	// Weights of the fused components; the zero value means
	// DefaultWeights.
	Weights *Weights
	// BM25 parameters; nil means DefaultBM25.
	BM25 *BM25Params
	// Fusion is FusionSum (the default, "") or FusionRRF.
	Fusion string
	// Explain fills Hit.Explain with each component's contribution.
	Explain bool
}

// Contribution is one component's part in a hit's fused score.
type Contribution struct {
	Component string  `json:"component"`
	Rank      int     `json:"rank"`         // 1-based rank in the component's list; 0 = not in it
	Score     float64 `json:"score"`        // the component's own score (BM25, cosine, …)
	Weight    float64 `json:"weight"`       // its fusion weight
	Fused     float64 `json:"contribution"` // its part of the fused score, 0 when unranked
}

// Fusion methods.
const (
	// FusionRRF is weighted reciprocal rank fusion: Σ w_c / (60 + rank_c).
	FusionRRF = "rrf"
	// FusionSum is the weighted sum of each component's score divided by
	// the best score of its list (its top candidate contributes its full
	// weight).
	FusionSum = "sum"
)

// rrfK is reciprocal rank fusion's constant (Cormack et al., 2009).
const rrfK = 60

// fuseDepth is how many candidates each component contributes.
func fuseDepth(k int) int { return max(k, 100) }

// ranked is one component's candidate list, best first.
type ranked struct {
	name   string
	labels []uint64
	scores map[uint64]float64
}

// topOf sorts the labels of scores by descending score (ascending label
// on ties, so results are deterministic) and keeps the first n.
func topOf(name string, scores map[uint64]float64, n int) ranked {
	// Keep the n best in a min-heap (the worst kept at the root), then
	// sort those: O(m log n) for m scores.
	better := func(a, b scored) bool { return a.score > b.score || (a.score == b.score && a.label < b.label) }
	h := make([]scored, 0, min(n, len(scores)))
	for l, s := range scores {
		if s <= 0 || n <= 0 {
			continue
		}
		c := scored{l, s}
		if len(h) < n {
			h = append(h, c)
			for i := len(h) - 1; i > 0; { // sift up
				p := (i - 1) / 2
				if !better(h[p], h[i]) {
					break
				}
				h[p], h[i] = h[i], h[p]
				i = p
			}
			continue
		}
		if !better(c, h[0]) {
			continue
		}
		h[0] = c
		for i := 0; ; { // sift down
			l, r, w := 2*i+1, 2*i+2, i
			if l < len(h) && better(h[w], h[l]) {
				w = l
			}
			if r < len(h) && better(h[w], h[r]) {
				w = r
			}
			if w == i {
				break
			}
			h[i], h[w] = h[w], h[i]
			i = w
		}
	}
	slices.SortFunc(h, func(a, b scored) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.label, b.label)
	})
	labels := make([]uint64, len(h))
	for i, p := range h {
		labels[i] = p.label
	}
	return ranked{name: name, labels: labels, scores: scores}
}

type scored struct {
	label uint64
	score float64
}

// fused is one fused result.
type fused struct {
	label   uint64
	score   float64
	explain []Contribution
}

// fuse combines the lists: by default a record scores Σ w_c · s_c / best_c
// over the lists c it appears in (s_c its score there, best_c the list's
// top score); with FusionRRF, Σ w_c / (rrfK + rank_c).
func fuse(lists []ranked, w Weights, k int, method string, explain bool) []fused {
	total := map[uint64]float64{}
	part := func(l ranked, i int) float64 {
		wc := w.get(l.name)
		if method != FusionRRF {
			if best := l.scores[l.labels[0]]; best > 0 {
				return wc * l.scores[l.labels[i]] / best
			}
			return 0
		}
		return wc / float64(rrfK+i+1)
	}
	for _, l := range lists {
		if w.get(l.name) == 0 {
			continue
		}
		for i, label := range l.labels {
			total[label] += part(l, i)
		}
	}
	top := topOf("", total, k)
	out := make([]fused, len(top.labels))
	for i, label := range top.labels {
		out[i] = fused{label: label, score: total[label]}
		if !explain {
			continue
		}
		for _, l := range lists {
			c := Contribution{Component: l.name, Weight: w.get(l.name), Score: l.scores[label]}
			if r := slices.Index(l.labels, label); r >= 0 {
				c.Rank = r + 1
				c.Fused = part(l, r)
			}
			out[i].explain = append(out[i].explain, c)
		}
	}
	return out
}

// Embedder returns the store's current embedder.
func (s *Store) Embedder() Embedder {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.emb
}
