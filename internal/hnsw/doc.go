// Package hnsw is an in-memory approximate nearest-neighbour index based on
// Hierarchical Navigable Small World graphs (Malkov & Yashunin, "Efficient
// and robust approximate nearest neighbor search using Hierarchical
// Navigable Small World graphs", TPAMI 2018).
//
// The index stores vectors in one contiguous []float32 block (row-major,
// stride = dimension) and layer-0 adjacency in a flat []uint32 block with a
// fixed capacity of 2·M neighbours per node; upper layers, which hold only a
// small fraction of the nodes, use one small flat slice per node. Neighbour
// selection uses the paper's heuristic (Algorithm 4). Node levels are drawn
// from a counter-based generator keyed by Config.Seed and the label, so the
// same inserts give the same levels whatever the thread interleaving.
//
// Inserts and searches may run concurrently: adjacency lists are read with
// atomic loads and written under striped per-node mutexes, so the index is
// clean under the race detector. Deletes are tombstones: a deleted node stays
// in the graph (it is still traversed, so connectivity is preserved) but is
// never returned; Compact rebuilds the graph from the live nodes when the
// tombstones become too many. Filtered search applies a predicate on the
// label during the traversal: rejected nodes are traversed but not returned.
//
// Save writes a checksummed binary file crash-safely (temporary file, fsync,
// rename, fsync of the directory); Load reads it back with a few large reads.
// The format is documented in docs/MEMORY.md.
//
// Distances: L2 (squared Euclidean), Cosine (1 − cosine similarity; vectors
// are normalised on insert) and Dot (negated inner product). The kernels use
// AVX2+FMA assembly on amd64 when the CPU supports it and an unrolled pure-Go
// fallback everywhere else (build with the purego tag to force it).
package hnsw
