// Package causal is ECC's causal graph: typed, weighted, bi-temporal edges
// between universal ids, each linked to the chain seq of the act that
// recorded it. Ordering types (follows, part_of, supersedes, derived_from,
// depends_on, evidence_for) are kept acyclic per type by an incremental
// topological order (Pearce–Kelly), so an edge that closes a cycle is
// refused with an error naming the cycle. The graph does work:
//
//   - truth maintenance: when evidence is superseded or contradicted,
//     everything derived from it (derived_from, depends_on, evidence_for)
//     is marked stale transitively, visiting only what is affected;
//   - personalized PageRank (local push) for graph-assisted retrieval;
//   - why (the evidence behind a node) and impact (what depends on it),
//     optionally as of a valid time and a recorded time.
//
// Edges are never deleted: knowledge evolves by new edges (supersedes,
// contradicts) and by valid-time intervals.
package causal

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// ID is a node's universal id (an xref id: BLAKE3-256 of canonical bytes).
type ID [32]byte

func (id ID) String() string { return fmt.Sprintf("%x", id[:]) }

// Type is an edge type.
type Type uint8

// Edge types. From → To reads "From <type> To": a summary derived_from its
// sources, a new fact supersedes the old one, a claim contradicts another,
// evidence evidence_for a conclusion.
const (
	Follows Type = iota + 1
	PartOf
	Mentions
	Supersedes
	Contradicts
	DerivedFrom
	DependsOn
	EvidenceFor
	numTypes = iota
)

var typeNames = [...]string{"", "follows", "part_of", "mentions", "supersedes", "contradicts", "derived_from", "depends_on", "evidence_for"}

func (t Type) String() string {
	if int(t) < len(typeNames) && t > 0 {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Valid reports a known type.
func (t Type) Valid() bool { return t >= Follows && t <= EvidenceFor }

// Ordering reports a type whose edges must stay acyclic.
func (t Type) Ordering() bool { return t.Valid() && t != Mentions && t != Contradicts }

// ParseType parses a type name.
func ParseType(s string) (Type, error) {
	for i, n := range typeNames {
		if i > 0 && n == s {
			return Type(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown edge type %q (want one of %s)", ErrInvalid, s, strings.Join(typeNames[1:], ", "))
}

// Sentinel errors.
var (
	// ErrCycle reports an edge that would close a cycle of an ordering
	// type; the error is a *CycleError.
	ErrCycle = errors.New("causal: edge would close a cycle")
	// ErrInvalid reports a malformed edge.
	ErrInvalid = errors.New("causal: invalid edge")
	// ErrNotFound reports an unknown node.
	ErrNotFound = errors.New("causal: unknown node")
)

// CycleError names the cycle an edge would have closed: Path runs from
// the new edge's To back to its From along existing edges of Type.
type CycleError struct {
	Type Type
	Path []ID // To … From; the new edge From → To closes it
}

func (e *CycleError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "causal: a %s edge would close a cycle: ", e.Type)
	for i, id := range e.Path {
		if i > 0 {
			b.WriteString(" → ")
		}
		b.WriteString(id.String()[:12])
	}
	if len(e.Path) > 0 {
		b.WriteString(" → " + e.Path[0].String()[:12])
	}
	return b.String()
}

func (e *CycleError) Is(target error) bool { return target == ErrCycle }

// Edge is one recorded edge.
type Edge struct {
	From   ID      `json:"from"`
	To     ID      `json:"to"`
	Type   Type    `json:"type"`
	Weight float32 `json:"weight"`
	// Seq is the chain seq of the act that recorded the edge.
	Seq uint64 `json:"seq"`
	// ValidFrom and ValidTo (Unix ns; ValidTo 0 = open) bound when the
	// relation holds in the world; Recorded is when the node learnt it.
	ValidFrom int64 `json:"valid_from"`
	ValidTo   int64 `json:"valid_to,omitempty"`
	Recorded  int64 `json:"recorded"`
}

// AsOf selects the graph as it was known at Recorded about the world at
// Valid (Unix ns); zero fields mean "now / any".
type AsOf struct {
	Valid    int64
	Recorded int64
}

func (a AsOf) sees(e *edge) bool {
	if a.Recorded != 0 && e.recorded > a.Recorded {
		return false
	}
	if a.Valid != 0 && (e.validFrom > a.Valid || (e.validTo != 0 && e.validTo <= a.Valid)) {
		return false
	}
	return true
}

type edge struct {
	from, to  uint32
	typ       Type
	w         float32
	seq       uint64
	validFrom int64
	validTo   int64
	recorded  int64
}

type edgeKey struct {
	from, to uint32
	typ      Type
}

// node state for truth maintenance.
type state struct {
	stale      bool   // derived from evidence that is no longer good
	superseded bool   // superseded or contradicted itself
	since      uint64 // seq of the act that made it so
}

// Graph is the causal graph. Safe for concurrent use.
type Graph struct {
	mu     sync.RWMutex
	ids    []ID
	idx    map[ID]uint32
	edges  []edge
	out    [][]uint32 // edge indices by source node
	in     [][]uint32 // edge indices by target node
	keys   map[edgeKey]uint32
	state  []state
	orders [numTypes + 1]*order // per ordering type
	marks  []uint32             // visit marks (epoch-stamped)
	wdeg   []float64            // weighted degree, both directions (PPR)
	epoch  uint32
	maxSeq uint64
	stats  Stats
	sink   func(Edge) error // persistence, under mu
	hash   [32]byte         // Hash of the first hashed edges
	hashed int
}

// Stats counts the graph's work.
type Stats struct {
	Nodes, Edges  int
	Stale         int
	Refused       uint64 // edges refused as cycles
	Invalidations uint64 // supersedes/contradicts edges that triggered invalidation
	Visited       uint64 // nodes visited by invalidation walks
}

// New returns an empty graph.
func New() *Graph {
	g := &Graph{idx: map[ID]uint32{}, keys: map[edgeKey]uint32{}}
	for t := Type(1); t <= EvidenceFor; t++ {
		if t.Ordering() {
			g.orders[t] = &order{}
		}
	}
	return g
}

// node returns id's index, adding the node.
func (g *Graph) node(id ID) uint32 {
	if i, ok := g.idx[id]; ok {
		return i
	}
	i := uint32(len(g.ids))
	g.ids = append(g.ids, id)
	g.idx[id] = i
	g.out = append(g.out, nil)
	g.in = append(g.in, nil)
	g.state = append(g.state, state{})
	g.marks = append(g.marks, 0)
	g.wdeg = append(g.wdeg, 0)
	for _, o := range g.orders {
		if o != nil {
			o.push(i)
		}
	}
	return i
}

// mark starts a new visit.
func (g *Graph) mark() uint32 {
	g.epoch++
	if g.epoch == 0 { // wrapped: clear
		clear(g.marks)
		g.epoch = 1
	}
	return g.epoch
}

// Add records an edge. An edge already present (same from, to, type) is
// kept as it was and Add reports false. An ordering edge that would close
// a cycle is refused with a *CycleError. A supersedes or contradicts edge
// invalidates its target and marks everything derived from it stale; the
// nodes newly marked are returned.
func (g *Graph) Add(e Edge) (added bool, stale []ID, err error) {
	if !e.Type.Valid() {
		return false, nil, fmt.Errorf("%w: type %d", ErrInvalid, e.Type)
	}
	if e.From == e.To {
		return false, nil, fmt.Errorf("%w: a %s edge from a node to itself", ErrInvalid, e.Type)
	}
	if e.Weight < 0 || e.Weight != e.Weight {
		return false, nil, fmt.Errorf("%w: weight %v", ErrInvalid, e.Weight)
	}
	if e.ValidTo != 0 && e.ValidTo <= e.ValidFrom {
		return false, nil, fmt.Errorf("%w: valid_to is not after valid_from", ErrInvalid)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	_, fromKnown := g.idx[e.From]
	_, toKnown := g.idx[e.To]
	if fromKnown && toKnown {
		// Only an edge between known nodes can close a cycle.
		k := edgeKey{g.idx[e.From], g.idx[e.To], e.Type}
		if _, dup := g.keys[k]; dup {
			return false, nil, nil
		}
		if e.Type.Ordering() {
			if path := g.orders[e.Type].add(g, k.from, k.to, e.Type); path != nil {
				g.stats.Refused++
				ce := &CycleError{Type: e.Type}
				for _, n := range path {
					ce.Path = append(ce.Path, g.ids[n])
				}
				return false, nil, ce
			}
		}
	}
	if g.sink != nil {
		if err := g.sink(e); err != nil {
			// Not persisted: not added. (A reorder done by the
			// cycle check stays valid: it is a topological order of
			// the graph with or without the edge.)
			return false, nil, err
		}
	}
	f, t := g.node(e.From), g.node(e.To)
	if e.Type.Ordering() && (!fromKnown || !toKnown) {
		g.orders[e.Type].add(g, f, t, e.Type) // a new node: never a cycle
	}
	ix := uint32(len(g.edges))
	g.edges = append(g.edges, edge{from: f, to: t, typ: e.Type, w: e.Weight, seq: e.Seq, validFrom: e.ValidFrom, validTo: e.ValidTo, recorded: e.Recorded})
	g.wdeg[f] += float64(e.Weight)
	g.wdeg[t] += float64(e.Weight)
	g.out[f] = append(g.out[f], ix)
	g.in[t] = append(g.in[t], ix)
	g.keys[edgeKey{f, t, e.Type}] = ix
	g.maxSeq = max(g.maxSeq, e.Seq)
	switch e.Type {
	case Supersedes, Contradicts:
		stale = g.invalidate(t, e.Seq)
	case DerivedFrom, DependsOn:
		// Derived from something already bad: stale from the start.
		if st := g.state[t]; (st.stale || st.superseded) && !g.state[f].stale {
			stale = g.spread(f, e.Seq)
		}
	case EvidenceFor:
		if st := g.state[f]; (st.stale || st.superseded) && !g.state[t].stale {
			stale = g.spread(t, e.Seq)
		}
	}
	return true, stale, nil
}

// Len counts nodes and edges.
func (g *Graph) Len() (nodes, edges int) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.ids), len(g.edges)
}

// MaxSeq is the highest chain seq of a recorded edge.
func (g *Graph) MaxSeq() uint64 {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.maxSeq
}

// Stats returns counters.
func (g *Graph) Stats() Stats {
	g.mu.RLock()
	defer g.mu.RUnlock()
	s := g.stats
	s.Nodes, s.Edges = len(g.ids), len(g.edges)
	return s
}

// Has reports a known node.
func (g *Graph) Has(id ID) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	_, ok := g.idx[id]
	return ok
}

// Status is a node's truth-maintenance state.
type Status struct {
	Stale      bool   `json:"stale"`
	Superseded bool   `json:"superseded"`
	Since      uint64 `json:"since,omitempty"` // seq of the act that made it so
}

// State returns a node's truth-maintenance state.
func (g *Graph) State(id ID) (Status, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	i, ok := g.idx[id]
	if !ok {
		return Status{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	s := g.state[i]
	return Status{Stale: s.stale, Superseded: s.superseded, Since: s.since}, nil
}

func (g *Graph) edgeOut(ix uint32) Edge {
	e := &g.edges[ix]
	return Edge{From: g.ids[e.from], To: g.ids[e.to], Type: e.typ, Weight: e.w, Seq: e.seq, ValidFrom: e.validFrom, ValidTo: e.validTo, Recorded: e.recorded}
}

// Edges lists every edge in the order recorded (for persistence and tests).
func (g *Graph) Edges() []Edge {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]Edge, len(g.edges))
	for i := range g.edges {
		out[i] = g.edgeOut(uint32(i))
	}
	return out
}
