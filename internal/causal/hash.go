package causal

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"

	"github.com/zeebo/blake3"
)

// hashEdgeLen is an edge's canonical form in Hash: from, to, type, weight.
const hashEdgeLen = 32 + 32 + 1 + 4

// Hash identifies the graph's content: BLAKE3-256 over "weftos.causal.v1\0"
// and every edge's canonical form — from (32 bytes), to (32), type (1),
// weight (IEEE-754 float32 bits, little-endian) — sorted bytewise. Seqs
// and times are left out: two nodes that learnt the same relations at
// different times, or one that learnt them twice, have the same hash.
// Edges are never removed, so the hash is cached until the next edge.
func (g *Graph) Hash() [32]byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hashed == len(g.edges) && g.hashed > 0 {
		return g.hash
	}
	buf := make([]byte, len(g.edges)*hashEdgeLen)
	for i := range g.edges {
		e := &g.edges[i]
		b := buf[i*hashEdgeLen : (i+1)*hashEdgeLen]
		copy(b, g.ids[e.from][:])
		copy(b[32:], g.ids[e.to][:])
		b[64] = byte(e.typ)
		binary.LittleEndian.PutUint32(b[65:], math.Float32bits(e.w))
	}
	recs := make([][]byte, len(g.edges))
	for i := range recs {
		recs[i] = buf[i*hashEdgeLen : (i+1)*hashEdgeLen]
	}
	slices.SortFunc(recs, bytes.Compare)
	h := blake3.New()
	_, _ = h.Write([]byte("weftos.causal.v1\x00"))
	for _, r := range recs {
		_, _ = h.Write(r)
	}
	copy(g.hash[:], h.Sum(nil))
	g.hashed = len(g.edges)
	return g.hash
}

// HasEdge reports whether the edge from → to of type t is in the graph.
func (g *Graph) HasEdge(from, to ID, t Type) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	f, ok1 := g.idx[from]
	tt, ok2 := g.idx[to]
	if !ok1 || !ok2 {
		return false
	}
	_, ok := g.keys[edgeKey{f, tt, t}]
	return ok
}
