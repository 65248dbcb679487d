package hnsw

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrInvalidConfig reports an out-of-range Config field.
	ErrInvalidConfig = errors.New("hnsw: invalid config")
	// ErrDimension reports a vector whose length is not the index dimension.
	ErrDimension = errors.New("hnsw: vector dimension mismatch")
	// ErrInvalidVector reports a vector with NaN or infinite components, or
	// a zero vector under the Cosine distance.
	ErrInvalidVector = errors.New("hnsw: invalid vector")
	// ErrExists reports an Insert of a label that is already live.
	ErrExists = errors.New("hnsw: label already present")
	// ErrNotFound reports a Delete of a label that is not live.
	ErrNotFound = errors.New("hnsw: label not found")
	// ErrCorrupt reports an index file that fails validation.
	ErrCorrupt = errors.New("hnsw: corrupt index file")
	// ErrVersion reports an index file written by an unknown format version.
	ErrVersion = errors.New("hnsw: unsupported index file version")
	// ErrFull reports that the index reached MaxNodes nodes.
	ErrFull = errors.New("hnsw: index full")
)

// Limits enforced on configurations and on loaded files.
const (
	MaxDim   = 1 << 16    // largest supported vector dimension
	MaxM     = 512        // largest supported M
	MaxEf    = 1 << 16    // largest supported ef / efConstruction
	MaxNodes = 1<<31 - 1  // largest number of nodes (ids are uint32)
	maxLevel = 31         // levels are capped (uint8 on disk)
	stripes  = 1 << 12    // number of striped node locks
	noNode   = ^uint32(0) // "no entry point" on disk
	growMin  = 1 << 10    // smallest capacity allocated by growth
)

// Config parameterises an index. Zero fields take the documented defaults.
type Config struct {
	// Dim is the vector dimension (required, 1..MaxDim).
	Dim int
	// Distance is the metric; the zero value is L2.
	Distance Distance
	// M is the number of neighbours a new node links to on each layer
	// (default 16). Layer 0 keeps up to 2·M neighbours per node.
	M int
	// EfConstruction is the candidate-list size used while inserting
	// (default 200).
	EfConstruction int
	// Ef is the default candidate-list size of searches (default 64); a
	// search always uses at least k.
	Ef int
	// Seed keys the level generator.
	Seed uint64
	// Capacity preallocates room for that many nodes (optional).
	Capacity int
}

func (c *Config) normalize() error {
	if c.Dim < 1 || c.Dim > MaxDim {
		return fmt.Errorf("%w: dim %d not in 1..%d", ErrInvalidConfig, c.Dim, MaxDim)
	}
	if !c.Distance.valid() {
		return fmt.Errorf("%w: unknown distance %d", ErrInvalidConfig, c.Distance)
	}
	if c.M == 0 {
		c.M = 16
	}
	if c.EfConstruction == 0 {
		c.EfConstruction = 200
	}
	if c.Ef == 0 {
		c.Ef = 64
	}
	if c.M < 2 || c.M > MaxM {
		return fmt.Errorf("%w: M %d not in 2..%d", ErrInvalidConfig, c.M, MaxM)
	}
	if c.EfConstruction < 1 || c.EfConstruction > MaxEf {
		return fmt.Errorf("%w: efConstruction %d not in 1..%d", ErrInvalidConfig, c.EfConstruction, MaxEf)
	}
	if c.Ef < 1 || c.Ef > MaxEf {
		return fmt.Errorf("%w: ef %d not in 1..%d", ErrInvalidConfig, c.Ef, MaxEf)
	}
	if c.Capacity < 0 || c.Capacity > MaxNodes {
		return fmt.Errorf("%w: capacity %d", ErrInvalidConfig, c.Capacity)
	}
	return nil
}

// Index is an HNSW graph. All methods are safe for concurrent use.
type Index struct {
	cfg  Config
	dim  int
	m    int // max neighbours on layers ≥ 1
	m0   int // max neighbours on layer 0 (2·M)
	s0   int // layer-0 stride in links0: 1 + m0 (slot 0 is the count)
	s1   int // upper-layer stride: 1 + m
	mult float64
	dist func(a, b []float32) float32

	// writeMu is held shared by Insert/Delete and exclusively by
	// Save/Compact, which need a quiescent graph.
	writeMu sync.RWMutex
	// growMu is held shared by every operation that touches the node
	// arrays and exclusively while they are reallocated or swapped.
	growMu sync.RWMutex

	vecs    []float32  // capacity·dim, row-major
	labels  []uint64   // per node
	levels  []uint8    // per node
	links0  []uint32   // capacity·s0; words are read/written atomically
	upper   [][]uint32 // per node: level·s1 words (nil on level 0 nodes)
	deleted []uint32   // tombstone bitset; words are read/written atomically

	// allocMu guards count, capacity's relation to count, byLabel, live.
	allocMu  sync.Mutex
	count    int // allocated node ids
	capacity int // allocated room (nodes)
	byLabel  map[uint64]uint32
	live     int

	nDeleted atomic.Int64
	// ep packs the entry point: (maxLevel+1)<<32 | id, or 0 if empty.
	ep   atomic.Uint64
	epMu sync.Mutex

	locks [stripes]sync.Mutex
	pool  sync.Pool
}

// New returns an empty index.
func New(cfg Config) (*Index, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	x := newIndex(cfg)
	if cfg.Capacity > 0 {
		x.resize(cfg.Capacity)
	}
	return x, nil
}

func newIndex(cfg Config) *Index {
	x := &Index{
		cfg:     cfg,
		dim:     cfg.Dim,
		m:       cfg.M,
		m0:      2 * cfg.M,
		mult:    1 / math.Log(float64(cfg.M)),
		dist:    cfg.Distance.Func(),
		byLabel: make(map[uint64]uint32, cfg.Capacity),
	}
	x.s0 = 1 + x.m0
	x.s1 = 1 + x.m
	return x
}

// Config returns the configuration with defaults applied.
func (x *Index) Config() Config { return x.cfg }

// Len returns the number of live (not deleted) vectors.
func (x *Index) Len() int {
	x.allocMu.Lock()
	defer x.allocMu.Unlock()
	return x.live
}

// Contains reports whether label is live in the index.
func (x *Index) Contains(label uint64) bool {
	x.allocMu.Lock()
	defer x.allocMu.Unlock()
	_, ok := x.byLabel[label]
	return ok
}

// Stats describes the index.
type Stats struct {
	Nodes    int    // node slots in the graph, tombstones included
	Live     int    // live vectors
	Deleted  int    // tombstones (reclaimed by Compact)
	MaxLevel int    // top layer (-1 if empty)
	Dim      int    // vector dimension
	Kernel   string // distance kernel in use ("avx2+fma", "go")
	// VectorBytes and GraphBytes are the sizes of the vector block and of
	// the adjacency lists as allocated (capacity included).
	VectorBytes int64
	GraphBytes  int64
}

// Stats returns a snapshot of the index statistics.
func (x *Index) Stats() Stats {
	x.growMu.RLock()
	defer x.growMu.RUnlock()
	x.allocMu.Lock()
	s := Stats{Nodes: x.count, Live: x.live, Dim: x.dim, Kernel: kernelName()}
	x.allocMu.Unlock()
	s.Deleted = int(x.nDeleted.Load())
	_, s.MaxLevel = unpackEP(x.ep.Load())
	s.VectorBytes = int64(cap(x.vecs)) * 4
	g := int64(cap(x.links0))*4 + int64(cap(x.upper))*24 + int64(cap(x.levels)) + int64(cap(x.labels))*8 + int64(cap(x.deleted))*4
	for _, u := range x.upper[:s.Nodes] {
		g += int64(cap(u)) * 4
	}
	s.GraphBytes = g
	return s
}

func packEP(id uint32, level int) uint64 { return uint64(level+1)<<32 | uint64(id) }

func unpackEP(e uint64) (uint32, int) { return uint32(e), int(e>>32) - 1 }

// Insert adds vec under label. The vector is copied (and normalised under
// Cosine). It returns ErrExists if label is already live.
func (x *Index) Insert(label uint64, vec []float32) error {
	q, err := x.prepare(vec)
	if err != nil {
		return err
	}
	x.writeMu.RLock()
	defer x.writeMu.RUnlock()
	id, err := x.allocate(label)
	if err != nil {
		return err
	}
	level := x.levelFor(label)
	x.growMu.RLock()
	defer x.growMu.RUnlock()
	copy(x.vec(id), q)
	x.labels[id] = label
	x.levels[id] = uint8(level)
	if level > 0 {
		x.upper[id] = make([]uint32, level*x.s1)
	}
	x.link(id, level)
	return nil
}

// prepare validates a vector and returns the form to store or search with.
func (x *Index) prepare(vec []float32) ([]float32, error) {
	if len(vec) != x.dim {
		return nil, fmt.Errorf("%w: got %d, want %d", ErrDimension, len(vec), x.dim)
	}
	if !finite(vec) {
		return nil, fmt.Errorf("%w: non-finite component", ErrInvalidVector)
	}
	if x.cfg.Distance == Cosine {
		c := make([]float32, len(vec))
		copy(c, vec)
		if !Normalize(c) {
			return nil, fmt.Errorf("%w: zero vector under cosine distance", ErrInvalidVector)
		}
		return c, nil
	}
	return vec, nil
}

// allocate reserves a node id for label, growing the arrays if needed.
func (x *Index) allocate(label uint64) (uint32, error) {
	for {
		x.allocMu.Lock()
		if _, ok := x.byLabel[label]; ok {
			x.allocMu.Unlock()
			return 0, fmt.Errorf("%w: %d", ErrExists, label)
		}
		if x.count >= MaxNodes {
			x.allocMu.Unlock()
			return 0, ErrFull
		}
		if x.count < x.capacity {
			id := uint32(x.count)
			x.count++
			x.byLabel[label] = id
			x.live++
			x.allocMu.Unlock()
			return id, nil
		}
		need := x.count + 1
		x.allocMu.Unlock()
		x.growMu.Lock()
		x.resize(need)
		x.growMu.Unlock()
	}
}

// resize makes room for at least need nodes. The caller holds growMu
// exclusively (or owns the index privately).
func (x *Index) resize(need int) {
	x.allocMu.Lock()
	defer x.allocMu.Unlock()
	if need <= x.capacity {
		return
	}
	c := max(need, x.capacity+x.capacity/2, growMin)
	c = min(c, MaxNodes)
	x.vecs = growSlice(x.vecs, c*x.dim)
	x.labels = growSlice(x.labels, c)
	x.levels = growSlice(x.levels, c)
	x.links0 = growSlice(x.links0, c*x.s0)
	x.upper = growSlice(x.upper, c)
	x.deleted = growSlice(x.deleted, (c+31)/32)
	x.capacity = c
}

func growSlice[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	t := make([]T, n)
	copy(t, s)
	return t
}

// levelFor draws the level of a node from a counter-based generator keyed
// by the seed and the label: floor(−ln(U)·mL) with mL = 1/ln(M).
func (x *Index) levelFor(label uint64) int {
	r := splitmix64(x.cfg.Seed ^ splitmix64(label))
	u := (float64(r>>11) + 1) / (1 << 53) // (0, 1]
	return min(int(-math.Log(u)*x.mult), maxLevel)
}

func splitmix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Delete removes label from the results of future searches. The node stays
// in the graph as a tombstone (it is still traversed) until Compact.
func (x *Index) Delete(label uint64) error {
	x.writeMu.RLock()
	defer x.writeMu.RUnlock()
	x.allocMu.Lock()
	id, ok := x.byLabel[label]
	if ok {
		delete(x.byLabel, label)
		x.live--
	}
	x.allocMu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %d", ErrNotFound, label)
	}
	x.growMu.RLock()
	atomic.OrUint32(&x.deleted[id>>5], 1<<(id&31))
	x.growMu.RUnlock()
	x.nDeleted.Add(1)
	return nil
}

// isDeleted reports whether node id is a tombstone (growMu held shared).
func (x *Index) isDeleted(id uint32) bool {
	return atomic.LoadUint32(&x.deleted[id>>5])&(1<<(id&31)) != 0
}

// vec returns node id's stored vector (growMu held shared).
func (x *Index) vec(id uint32) []float32 {
	o := int(id) * x.dim
	return x.vecs[o : o+x.dim : o+x.dim]
}

// list returns node id's adjacency slot on layer: word 0 is the count,
// words 1.. the neighbours (growMu held shared).
func (x *Index) list(id uint32, layer int) []uint32 {
	if layer == 0 {
		o := int(id) * x.s0
		return x.links0[o : o+x.s0 : o+x.s0]
	}
	o := (layer - 1) * x.s1
	return x.upper[id][o : o+x.s1 : o+x.s1]
}

func (x *Index) lockFor(id uint32) *sync.Mutex { return &x.locks[id&(stripes-1)] }
