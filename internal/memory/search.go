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
	// Score is the cosine similarity to the query (1 = same direction).
	Score float32 `json:"score"`
}

// Search returns up to k records most similar to query that pass filter,
// most similar first. A query with no embedding (for the lexical embedder:
// no letters or digits) returns no hits. Options.Observer, if set, is
// told about every call.
func (s *Store) Search(ctx context.Context, query string, k int, filter Filter) ([]Hit, error) {
	if s.opts.Observer == nil {
		return s.search(ctx, query, k, filter)
	}
	t0 := time.Now() // real time: this measures the search, embedding included
	hits, err := s.search(ctx, query, k, filter)
	s.opts.Observer.Searched(time.Since(t0), len(hits), err)
	return hits, err
}

func (s *Store) search(ctx context.Context, query string, k int, filter Filter) ([]Hit, error) {
	if k < 1 || k > MaxK {
		return nil, fmt.Errorf("%w: k = %d outside 1..%d", ErrInvalidOptions, k, MaxK)
	}
	if err := filter.validate(); err != nil {
		return nil, err
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

	vecs, err := emb.Embed(ctx, []string{query})
	if err != nil {
		return nil, fmt.Errorf("memory: search: embed: %w", err)
	}
	if err := checkVectors(vecs, 1, emb.Dim()); err != nil {
		return nil, fmt.Errorf("memory: search: %s: %w", emb.Name(), err)
	}
	if isZero(vecs[0]) {
		return nil, nil
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return nil, err
	}
	if s.emb != emb {
		return nil, fmt.Errorf("memory: search: the embedder changed during the call (re-embed); retry")
	}
	opts := hnsw.SearchOptions{Ef: max(k, s.opts.EfSearch)}
	if !filter.empty() {
		opts.Filter = func(label uint64) bool {
			e, ok := s.entries[label]
			return ok && filter.match(e)
		}
	}
	results, err := s.idx.SearchWith(vecs[0], k, opts)
	if err != nil {
		return nil, fmt.Errorf("memory: search: %w", err)
	}
	hits := make([]Hit, 0, len(results))
	err = s.kv.View(func(tx kvTx) error {
		for _, r := range results {
			e, ok := s.entries[r.Label]
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
			hits = append(hits, Hit{Record: sr.record(e.id), Score: 1 - r.Distance})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("memory: search: %w", err)
	}
	return hits, nil
}

// ownedBy reports whether agent stored the record (first or later).
func (e *entry) ownedBy(agent string) bool {
	return e.agent == agent || slices.Contains(e.owners, agent)
}
