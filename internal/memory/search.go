package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/hnsw"
)

// Scope says which memories a search may see, relative to Filter.Agent.
// Agents get their scope from their capabilities; the operator uses
// ScopeAll.
type Scope int

const (
	// ScopeAll sees every record (the operator's view). Filter.Agent, if
	// set, is then a plain equality filter.
	ScopeAll Scope = iota
	// ScopeOwn sees only the records whose Meta.Agent is Filter.Agent.
	ScopeOwn
	// ScopeShared sees Filter.Agent's own records plus every record
	// stored with Meta.Shared by any agent.
	ScopeShared
	// ScopeNone sees nothing: Search returns ErrNoAccess.
	ScopeNone
)

var scopeNames = [...]string{"all", "own", "shared", "none"}

// String returns "all", "own", "shared" or "none".
func (s Scope) String() string {
	if s < 0 || int(s) >= len(scopeNames) {
		return fmt.Sprintf("Scope(%d)", int(s))
	}
	return scopeNames[s]
}

// ParseScope parses the names printed by String.
func ParseScope(name string) (Scope, error) {
	if i := slices.Index(scopeNames[:], strings.ToLower(strings.TrimSpace(name))); i >= 0 {
		return Scope(i), nil
	}
	return 0, fmt.Errorf("%w: unknown scope %q (all, own, shared, none)", ErrInvalidFilter, name)
}

// Filter restricts a search. Empty fields match everything; all set fields
// must match. It is evaluated during the HNSW traversal.
type Filter struct {
	Agent   string   // see Scope
	Session string   // exact session
	Source  string   // exact source
	Tags    []string // the record must carry every one of these tags
	Scope   Scope
}

func (f Filter) validate() error {
	switch f.Scope {
	case ScopeAll:
	case ScopeOwn, ScopeShared:
		if f.Agent == "" {
			return fmt.Errorf("%w: scope %s needs an agent", ErrInvalidFilter, f.Scope)
		}
	case ScopeNone:
		return ErrNoAccess
	default:
		return fmt.Errorf("%w: unknown scope %d", ErrInvalidFilter, int(f.Scope))
	}
	return nil
}

func (f Filter) empty() bool {
	return f.Scope == ScopeAll && f.Agent == "" && f.Session == "" && f.Source == "" && len(f.Tags) == 0
}

func (f Filter) match(e *entry) bool {
	switch f.Scope {
	case ScopeAll, ScopeOwn:
		if f.Agent != "" && !e.ownedBy(f.Agent) {
			return false
		}
	case ScopeShared:
		if !e.ownedBy(f.Agent) && !e.shared {
			return false
		}
	default:
		return false
	}
	if f.Session != "" && e.session != f.Session {
		return false
	}
	if f.Source != "" && e.source != f.Source {
		return false
	}
	for _, t := range f.Tags {
		if _, ok := slices.BinarySearch(e.tags, t); !ok {
			return false
		}
	}
	return true
}

// Hit is one search result.
type Hit struct {
	Record Record `json:"record"` // without Embedding
	// Score is the fused score: the sum over the retrieval components of
	// weight × score / best score of that component (or, with FusionRRF,
	// of weight / (60 + rank)).
	Score float32 `json:"score"`
	// Explain is each component's part in Score (SearchOptions.Explain).
	Explain []Contribution `json:"explain,omitempty"`
}

// Search returns up to k records that best match query and pass filter,
// best first, with the default hybrid retrieval (DefaultWeightsFor the
// store's embedder): BM25F over text, speaker and date, the embeddings'
// cosine similarity (unless the embedder is lexical-only) and the
// neighbour and session propagation of the BM25 scores, fused by a
// weighted sum of normalised scores. With a lexical-only embedder, a query
// that shares no term with any record returns no hits. Options.Observer,
// if set, is told about every call.
func (s *Store) Search(ctx context.Context, query string, k int, filter Filter) ([]Hit, error) {
	return s.SearchWith(ctx, query, k, filter, SearchOptions{})
}

// SearchWith is Search with the components, their weights and the BM25
// parameters chosen by opts, and optionally each hit's explanation.
func (s *Store) SearchWith(ctx context.Context, query string, k int, filter Filter, opts SearchOptions) ([]Hit, error) {
	if s.opts.Observer == nil {
		return s.search(ctx, query, k, filter, opts)
	}
	t0 := time.Now() // real time: this measures the search, embedding included
	hits, err := s.search(ctx, query, k, filter, opts)
	s.opts.Observer.Searched(time.Since(t0), len(hits), err)
	return hits, err
}

func (s *Store) search(ctx context.Context, query string, k int, filter Filter, so SearchOptions) ([]Hit, error) {
	if k < 1 || k > MaxK {
		return nil, fmt.Errorf("%w: k = %d outside 1..%d", ErrInvalidOptions, k, MaxK)
	}
	if err := filter.validate(); err != nil {
		return nil, err
	}
	if so.Weights != nil {
		if err := so.Weights.validate(); err != nil {
			return nil, err
		}
	}
	switch so.Fusion {
	case "", FusionSum, FusionRRF:
	default:
		return nil, fmt.Errorf("%w: unknown fusion %q (%s, %s)", ErrInvalidOptions, so.Fusion, FusionSum, FusionRRF)
	}
	params := DefaultBM25
	if so.BM25 != nil {
		if err := so.BM25.validate(); err != nil {
			return nil, err
		}
		params = *so.BM25
	}
	filter.Tags = normalizeTags(filter.Tags)
	s.mu.RLock()
	if err := s.usable(); err != nil {
		s.mu.RUnlock()
		return nil, err
	}
	emb, empty := s.emb, len(s.entries) == 0
	s.mu.RUnlock()
	if empty {
		return nil, nil // nothing to find: no need to embed the query
	}
	w := DefaultWeightsFor(emb)
	if so.Weights != nil {
		w = *so.Weights
	}

	var qvec []float32
	if w.Vector > 0 {
		vecs, err := emb.Embed(ctx, []string{query})
		if err != nil {
			return nil, fmt.Errorf("memory: search: embed: %w", err)
		}
		if err := checkVectors(vecs, 1, emb.Dim()); err != nil {
			return nil, fmt.Errorf("memory: search: %s: %w", emb.Name(), err)
		}
		if !isZero(vecs[0]) {
			qvec = vecs[0]
		}
	}
	qterms := tokenize(nil, query)
	var qents []string
	if w.Graph > 0 {
		qents = entityTerms(query)
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return nil, err
	}
	if s.emb != emb {
		return nil, fmt.Errorf("memory: search: the embedder changed during the call (re-embed); retry")
	}
	var accept func(uint64) bool
	if !filter.empty() {
		accept = func(label uint64) bool {
			e, ok := s.entries[label]
			return ok && filter.match(e)
		}
	}
	lists, err := s.componentLists(qterms, qents, qvec, k, accept, w, params)
	if err != nil {
		return nil, err
	}
	results := fuse(lists, w, k, so.Fusion, so.Explain)
	hits := make([]Hit, 0, len(results))
	err = s.kv.View(func(tx kvTx) error {
		for _, r := range results {
			e, ok := s.entries[r.label]
			if !ok {
				continue
			}
			v := tx.Get(bucketRecords, e.id[:])
			if v == nil {
				return fmt.Errorf("%w: indexed record %x missing", ErrCorrupt, e.id)
			}
			var sr storedRecord
			if err := json.Unmarshal(v, &sr); err != nil {
				return fmt.Errorf("%w: record %x: %w", ErrCorrupt, e.id, err)
			}
			hits = append(hits, Hit{Record: sr.record(e.id), Score: float32(r.score), Explain: r.explain})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("memory: search: %w", err)
	}
	return hits, nil
}

// componentLists computes the candidate list of every component with a
// non-zero weight. The caller holds s.mu.
func (s *Store) componentLists(qterms, qents []string, qvec []float32, k int, accept func(uint64) bool, w Weights, p BM25Params) ([]ranked, error) {
	depth := fuseDepth(k)
	var lists []ranked
	var bm map[uint64]float64
	if w.BM25 > 0 || w.Neighbor > 0 || w.Session > 0 || w.Graph > 0 {
		bm = s.lex.score(qterms, p, accept)
	}
	if w.BM25 > 0 {
		lists = append(lists, topOf(CompBM25, bm, depth))
	}
	if w.Neighbor > 0 {
		lists = append(lists, topOf(CompNeighbor, s.lex.neighbourScores(bm, accept), depth))
	}
	if w.Session > 0 {
		lists = append(lists, topOf(CompSession, s.lex.sessionScores(bm, accept), depth))
	}
	if w.Vector > 0 && qvec != nil {
		opts := hnsw.SearchOptions{Ef: max(depth, s.opts.EfSearch)}
		if accept != nil {
			opts.Filter = accept
		}
		results, err := s.idx.SearchWith(qvec, depth, opts)
		if err != nil {
			return nil, fmt.Errorf("memory: search: %w", err)
		}
		vs := make(map[uint64]float64, len(results))
		for _, r := range results {
			vs[r.Label] = 1 - float64(r.Distance) // cosine similarity; ≤ 0 is not kept
		}
		lists = append(lists, topOf(CompVector, vs, depth))
	}
	if w.Graph > 0 {
		lists = append(lists, topOf(CompGraph, s.lex.graphScores(bm, qents, accept), depth))
	}
	if w.Recency > 0 {
		lists = append(lists, topOf(CompRecency, s.lex.recencyScores(lists), depth))
	}
	return lists, nil
}

// ownedBy reports whether agent stored the record (first or later).
func (e *entry) ownedBy(agent string) bool {
	return e.agent == agent || slices.Contains(e.owners, agent)
}
