package memory

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/hnsw"
	"github.com/zeebo/blake3"
)

// File names inside the store directory.
const (
	dbFile    = "memory.db"
	indexFile = "memory.hnsw"
)

// Limits.
const (
	// MaxTextBytes is the largest text a record may hold.
	MaxTextBytes = 1 << 20
	// MaxK is the largest k a search may ask for.
	MaxK = 1000
	// formatVersion is the database layout version.
	formatVersion = 1
	// compactRatio: Flush compacts the index when tombstones exceed this
	// fraction of its nodes.
	compactRatio = 0.2
	// defaultEfSearch is the default HNSW candidate-list size of searches.
	defaultEfSearch = 64
)

// Embedder turns texts into vectors (internal/embed provides the
// implementations). Name identifies the model and dimension and is stored
// with the data; vectors from embedders with different names are never
// mixed.
type Embedder interface {
	Name() string
	Dim() int
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Meta is the metadata of a record.
type Meta struct {
	Agent   string `json:"agent,omitempty"`   // agent (or user) that stored it
	Session string `json:"session,omitempty"` // session it was stored in
	Source  string `json:"source,omitempty"`  // file path, URL, tool…
	// Speaker is who said or wrote the text (a conversation turn's
	// speaker); it is a field of the lexical index.
	Speaker string    `json:"speaker,omitempty"`
	Tags    []string  `json:"tags,omitempty"` // free-form labels
	Time    time.Time `json:"time"`           // when it was stored (Put fills a zero Time)
	// Shared makes the record visible to every agent searching with
	// ScopeShared, not only to its own agent.
	Shared bool `json:"shared,omitempty"`
	// Owners are further agents that stored the same text later: a record
	// is one per content, visible to each agent that stored it.
	Owners []string `json:"owners,omitempty"`
}

// Record is one stored memory.
type Record struct {
	ID        string    `json:"id"`                  // hex BLAKE3-256 of Text
	Text      string    `json:"text"`                // the content
	Embedding []float32 `json:"embedding,omitempty"` // its vector (filled by Get; nil in search hits)
	Meta      Meta      `json:"meta"`
	ChainSeq  uint64    `json:"chain_seq"` // the chain event (the decision) that created it
}

// Options configures Open.
type Options struct {
	// Embedder embeds texts and queries (required).
	Embedder Embedder
	// Logger receives index rebuild and re-embed notices (default:
	// discard).
	Logger *slog.Logger
	// Now stamps records stored with a zero Meta.Time (default time.Now).
	Now func() time.Time
	// AllowEmbedderMismatch opens a store built with another embedder
	// instead of failing: Put and Search then return the
	// *EmbedderMismatchError until Reembed has run; Get, Delete and Stats
	// work.
	AllowEmbedderMismatch bool
	// InMemory keeps everything in process memory, even where bbolt is
	// available (tests, scratch stores). Nothing is written to dir.
	InMemory bool
	// M, EfConstruction and EfSearch tune the HNSW index (defaults 16,
	// 200, 64). M and EfConstruction apply when the index is (re)built.
	M, EfConstruction, EfSearch int
	// Observer, if set, is told about every Search (for metrics).
	Observer Observer
}

// Observer watches a Store's searches. Searched is called after every
// Search returns, on the searching goroutine: it must return quickly.
type Observer interface {
	// Searched reports how long a search took (embedding the query
	// included), how many hits it returned, and its error (nil on success).
	Searched(d time.Duration, hits int, err error)
}

// Store is a memory store. All methods are safe for concurrent use.
type Store struct {
	dir        string
	kv         kv
	log        *slog.Logger
	now        func() time.Time
	persistent bool
	opts       Options

	// mu guards everything below. Mutations take it exclusively; searches
	// and reads share it.
	mu        sync.RWMutex
	closed    bool
	emb       Embedder
	mismatch  *EmbedderMismatchError
	idx       *hnsw.Index // nil while mismatched
	entries   map[uint64]*entry
	lex       *lexIndex // the lexical (BM25F) index over every record
	lexGen    uint64    // the generation memory.lex holds, if lexOnDisk
	lexOnDisk bool      // memory.lex was loaded or saved (holds lexGen)
	lexSrc    string    // how Open got the lexical index: "loaded", "rebuilt", "new"
	source    string    // how the index was obtained at Open
	dirty     bool      // index changed since it was last saved
}

// entry is the in-memory metadata of a record, consulted by search filters
// during the HNSW traversal.
type entry struct {
	id      [32]byte
	agent   string
	owners  []string // further agents that stored the same text
	session string
	source  string
	tags    []string
	shared  bool
}

// storedRecord is the JSON value of bucketRecords.
type storedRecord struct {
	Text     string `json:"text"`
	Meta     Meta   `json:"meta"`
	ChainSeq uint64 `json:"chain_seq"`
	Label    uint64 `json:"label"`
}

// Meta keys.
var (
	keyFormat    = []byte("format")
	keyEmbedder  = []byte("embedder")
	keyDim       = []byte("dim")
	keyGen       = []byte("gen")       // bumped by every change
	keyIndexGen  = []byte("index_gen") // gen the saved index file reflects
	keyNextLabel = []byte("next_label")
	keyIndexed   = []byte("indexed") // vectors in the index (live)
)

func getU64(tx kvTx, key []byte) uint64 {
	v := tx.Get(bucketMeta, key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putU64(tx kvTx, key []byte, v uint64) error {
	return tx.Put(bucketMeta, key, binary.BigEndian.AppendUint64(nil, v))
}

// ContentID returns the record ID of text: its hex BLAKE3-256.
func ContentID(text string) string {
	sum := blake3.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

func parseID(id string) ([32]byte, error) {
	var out [32]byte
	if len(id) != 64 {
		return out, fmt.Errorf("%w: %q is not a 64-hex-digit record ID", ErrNotFound, id)
	}
	if _, err := hex.Decode(out[:], []byte(strings.ToLower(id))); err != nil {
		return out, fmt.Errorf("%w: %q is not a 64-hex-digit record ID", ErrNotFound, id)
	}
	return out, nil
}

func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVector(b []byte, dim int) ([]float32, error) {
	if len(b) != 4*dim {
		return nil, fmt.Errorf("%w: vector of %d bytes, want %d", ErrCorrupt, len(b), 4*dim)
	}
	v := make([]float32, dim)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

// Open opens (creating if needed) the store in dir.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if opts.Embedder == nil {
		return nil, fmt.Errorf("%w: an Embedder is required", ErrInvalidOptions)
	}
	if d := opts.Embedder.Dim(); d < 1 || d > hnsw.MaxDim {
		return nil, fmt.Errorf("%w: embedder dimension %d outside 1..%d", ErrInvalidOptions, d, hnsw.MaxDim)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.EfSearch <= 0 {
		opts.EfSearch = defaultEfSearch
	}
	s := &Store{dir: dir, log: opts.Logger, now: opts.Now, opts: opts, emb: opts.Embedder,
		entries: map[uint64]*entry{}, lex: newLexIndex()}
	var err error
	if opts.InMemory {
		s.kv = newMemKV()
	} else {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("memory: %w", err)
		}
		s.persistent = persistent
		if s.kv, err = openKV(ctx, dir); err != nil {
			return nil, err
		}
	}
	if err := s.init(ctx); err != nil {
		s.kv.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	configured := s.emb.Name()
	var stored string
	var dim, gen, indexGen, indexed uint64
	err := s.kv.Update(func(tx kvTx) error {
		stored = string(tx.Get(bucketMeta, keyEmbedder))
		if stored == "" {
			if tx.Count(bucketRecords) > 0 || getU64(tx, keyGen) != 0 {
				return fmt.Errorf("%w: records without an embedder name", ErrCorrupt)
			}
			stored = configured
			for _, kvp := range []struct {
				k []byte
				v uint64
			}{{keyFormat, formatVersion}, {keyDim, uint64(s.emb.Dim())}, {keyNextLabel, 1}} {
				if err := putU64(tx, kvp.k, kvp.v); err != nil {
					return err
				}
			}
			if err := tx.Put(bucketMeta, keyEmbedder, []byte(configured)); err != nil {
				return err
			}
		}
		if f := getU64(tx, keyFormat); f != formatVersion {
			return fmt.Errorf("%w: database format %d, this build reads %d", ErrCorrupt, f, formatVersion)
		}
		dim, gen, indexGen, indexed = getU64(tx, keyDim), getU64(tx, keyGen), getU64(tx, keyIndexGen), getU64(tx, keyIndexed)
		return s.loadEntries(tx)
	})
	if err != nil {
		return fmt.Errorf("memory: open: %w", err)
	}
	if err := s.openLex(ctx, gen); err != nil {
		return err
	}
	if dim < 1 || dim > hnsw.MaxDim {
		return fmt.Errorf("memory: open: %w: stored dimension %d", ErrCorrupt, dim)
	}
	if stored != configured || int(dim) != s.emb.Dim() {
		s.mismatch = &EmbedderMismatchError{Stored: stored, Configured: configured}
		if !s.opts.AllowEmbedderMismatch {
			return s.mismatch
		}
		s.source = "mismatch"
		return nil
	}
	return s.openIndex(ctx, gen, indexGen, indexed)
}

// loadEntries fills s.entries from the records bucket.
func (s *Store) loadEntries(tx kvTx) error {
	return tx.ForEach(bucketRecords, func(k, v []byte) error {
		if len(k) != 32 {
			return fmt.Errorf("%w: record key of %d bytes", ErrCorrupt, len(k))
		}
		var r storedRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: record %x: %w", ErrCorrupt, k, err)
		}
		if _, dup := s.entries[r.Label]; dup || r.Label == 0 {
			return fmt.Errorf("%w: record %x: bad label %d", ErrCorrupt, k, r.Label)
		}
		s.entries[r.Label] = newEntry([32]byte(k), r.Meta)
		return nil
	})
}

func newEntry(id [32]byte, m Meta) *entry {
	return &entry{id: id, agent: m.Agent, owners: m.Owners, session: m.Session, source: m.Source, tags: m.Tags, shared: m.Shared}
}

func (s *Store) hnswConfig(dim int) hnsw.Config {
	return hnsw.Config{Dim: dim, Distance: hnsw.Cosine, M: s.opts.M, EfConstruction: s.opts.EfConstruction,
		Ef: s.opts.EfSearch, Capacity: len(s.entries)}
}

// openIndex loads the saved index if it reflects the database, else
// rebuilds it from the stored vectors.
func (s *Store) openIndex(ctx context.Context, gen, indexGen, indexed uint64) error {
	path := filepath.Join(s.dir, indexFile)
	reason := ""
	if !s.persistent {
		reason = "in-memory store"
	} else if idx, err := hnsw.Load(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			reason = "no index file"
		} else {
			reason = err.Error()
		}
	} else {
		switch c := idx.Config(); {
		case c.Dim != s.emb.Dim() || c.Distance != hnsw.Cosine:
			reason = fmt.Sprintf("index is %d-d %s", c.Dim, c.Distance)
		case indexGen != gen:
			reason = fmt.Sprintf("index reflects generation %d, database is at %d", indexGen, gen)
		case uint64(idx.Len()) != indexed:
			reason = fmt.Sprintf("index holds %d vectors, database %d", idx.Len(), indexed)
		default:
			for l := range s.entries {
				if !idx.Contains(l) {
					reason = fmt.Sprintf("index lacks label %d", l)
					break
				}
			}
		}
		if reason == "" {
			s.idx, s.source = idx, "loaded"
			return nil
		}
	}
	if len(s.entries) == 0 {
		idx, err := hnsw.New(s.hnswConfig(s.emb.Dim()))
		if err != nil {
			return fmt.Errorf("memory: %w", err)
		}
		s.idx, s.source, s.dirty = idx, "new", true
		return nil
	}
	if s.persistent {
		s.log.LogAttrs(ctx, slog.LevelInfo, "rebuilding memory index from stored vectors",
			slog.String("reason", reason), slog.Int("records", len(s.entries)))
	}
	idx, n, err := s.buildIndex(ctx, bucketVectors, s.emb.Dim())
	if err != nil {
		return err
	}
	if err := s.kv.Update(func(tx kvTx) error { return putU64(tx, keyIndexed, uint64(n)) }); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	s.idx, s.source, s.dirty = idx, "rebuilt", true
	return nil
}

// buildIndex builds an index from the vectors in bucket (keyed by record
// ID) for every entry. Zero vectors are skipped (they cannot be searched).
func (s *Store) buildIndex(ctx context.Context, bucket []byte, dim int) (*hnsw.Index, int, error) {
	idx, err := hnsw.New(s.hnswConfig(dim))
	if err != nil {
		return nil, 0, fmt.Errorf("memory: %w", err)
	}
	labels := slices.Sorted(func(yield func(uint64) bool) {
		for l := range s.entries {
			if !yield(l) {
				return
			}
		}
	})
	n := 0
	const batch = 1024
	for start := 0; start < len(labels); start += batch {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		end := min(start+batch, len(labels))
		err := s.kv.View(func(tx kvTx) error {
			for _, l := range labels[start:end] {
				e := s.entries[l]
				v, err := decodeVector(tx.Get(bucket, e.id[:]), dim)
				if err != nil {
					return fmt.Errorf("record %x: %w", e.id, err)
				}
				if err := idx.Insert(l, v); err != nil {
					if errors.Is(err, hnsw.ErrInvalidVector) {
						continue
					}
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return nil, 0, fmt.Errorf("memory: build index: %w", err)
		}
	}
	return idx, n, nil
}

// Flush saves the index next to the database if it changed, so the next
// Open loads it instead of rebuilding. Close calls it.
func (s *Store) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.flushLocked(ctx)
}

func (s *Store) flushLocked(ctx context.Context) error {
	if !s.persistent {
		return nil
	}
	if err := s.flushLexLocked(); err != nil {
		return err
	}
	if s.idx == nil || !s.dirty {
		return nil
	}
	if st := s.idx.Stats(); st.Deleted > 0 && float64(st.Deleted) > compactRatio*float64(st.Nodes) {
		if err := s.idx.Compact(ctx, 2); err != nil {
			return fmt.Errorf("memory: compact index: %w", err)
		}
	}
	var gen uint64
	if err := s.kv.View(func(tx kvTx) error { gen = getU64(tx, keyGen); return nil }); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	// The index first, then the generation it reflects: a crash in
	// between leaves index_gen stale, and the next Open rebuilds.
	if err := s.idx.Save(filepath.Join(s.dir, indexFile)); err != nil {
		return fmt.Errorf("memory: save index: %w", err)
	}
	if err := s.kv.Update(func(tx kvTx) error { return putU64(tx, keyIndexGen, gen) }); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	s.dirty = false
	return nil
}

// Close saves the index (see Flush) and closes the database. Calling it
// again returns nil.
func (s *Store) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.flushLocked(ctx)
	if cerr := s.kv.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("memory: close: %w", cerr)
	}
	return err
}

// usable reports why the store cannot embed/search now. Caller holds mu.
func (s *Store) usable() error {
	if s.closed {
		return ErrClosed
	}
	if s.mismatch != nil {
		return s.mismatch
	}
	return nil
}

// Stats describes a store.
type Stats struct {
	Records     int    `json:"records"`      // stored records
	Embedder    string `json:"embedder"`     // stored embedder name
	Dim         int    `json:"dim"`          // vector dimension
	IndexSource string `json:"index_source"` // how Open got the index: "loaded", "rebuilt", "new", "mismatch"
	LexSource   string `json:"lex_source"`   // how Open got the lexical index: "loaded", "rebuilt", "new"
	LexTerms    int    `json:"lex_terms"`    // distinct terms in the lexical index
	Indexed     int    `json:"indexed"`      // live vectors in the index
	Tombstones  int    `json:"tombstones"`   // deleted vectors still in the graph (reclaimed on Flush)
	Generation  uint64 `json:"generation"`   // change counter of the database
	Files       int    `json:"files"`        // files recorded by Ingest
	Persistent  bool   `json:"persistent"`   // false for in-memory stores
}

// Stats returns a snapshot of the store statistics.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return Stats{}, ErrClosed
	}
	st := Stats{Records: len(s.entries), IndexSource: s.source, Persistent: s.persistent,
		LexSource: s.lexSrc, LexTerms: s.lex.termCount()}
	err := s.kv.View(func(tx kvTx) error {
		st.Embedder = string(tx.Get(bucketMeta, keyEmbedder))
		st.Dim = int(getU64(tx, keyDim))
		st.Generation = getU64(tx, keyGen)
		st.Files = tx.Count(bucketIngested)
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("memory: %w", err)
	}
	if s.idx != nil {
		is := s.idx.Stats()
		st.Indexed, st.Tombstones = is.Live, is.Deleted
	}
	return st, nil
}

func (r storedRecord) record(id [32]byte) Record {
	return Record{ID: hex.EncodeToString(id[:]), Text: r.Text, Meta: r.Meta, ChainSeq: r.ChainSeq}
}

// Get returns the record with the given ID, its embedding included.
func (s *Store) Get(ctx context.Context, id string) (Record, error) {
	key, err := parseID(id)
	if err != nil {
		return Record{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return Record{}, ErrClosed
	}
	var rec Record
	err = s.kv.View(func(tx kvTx) error {
		v := tx.Get(bucketRecords, key[:])
		if v == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		var r storedRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: record %s: %w", ErrCorrupt, id, err)
		}
		rec = r.record(key)
		dim := int(getU64(tx, keyDim))
		vec, err := decodeVector(tx.Get(bucketVectors, key[:]), dim)
		if err != nil {
			return fmt.Errorf("record %s: %w", id, err)
		}
		rec.Embedding = vec
		return nil
	})
	return rec, err
}

// Delete removes a record.
func (s *Store) Delete(ctx context.Context, id string) error {
	key, err := parseID(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	var label uint64
	err = s.kv.Update(func(tx kvTx) error {
		v := tx.Get(bucketRecords, key[:])
		if v == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		var r storedRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: record %s: %w", ErrCorrupt, id, err)
		}
		label = r.Label
		if err := tx.Delete(bucketRecords, key[:]); err != nil {
			return err
		}
		if err := tx.Delete(bucketVectors, key[:]); err != nil {
			return err
		}
		if s.idx != nil && s.idx.Contains(label) {
			if err := putU64(tx, keyIndexed, getU64(tx, keyIndexed)-1); err != nil {
				return err
			}
		}
		return putU64(tx, keyGen, getU64(tx, keyGen)+1)
	})
	if err != nil {
		return fmt.Errorf("memory: delete: %w", err)
	}
	delete(s.entries, label)
	s.lex.remove(label)
	if s.idx != nil && s.idx.Contains(label) {
		if err := s.idx.Delete(label); err != nil {
			return fmt.Errorf("memory: delete: %w", err)
		}
		s.dirty = true
	}
	return nil
}

// normalizeTags trims, drops empty, sorts and de-duplicates tags.
func normalizeTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
