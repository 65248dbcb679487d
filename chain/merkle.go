package chain

import (
	"fmt"
	"math/bits"
)

// This file holds the pure RFC 6962 / RFC 9162 Merkle tree algorithms with
// SHAKE-256/32 as the hash. Trees are read through nodeSource so that proofs
// can be produced from hashes stored on disk.

// nodeSource returns the root of the perfect subtree of 2^level leaves that
// starts at leaf index<<level.
type nodeSource interface {
	node(level uint, index uint64) (Hash, error)
}

// EmptyRoot is the root of the empty tree: SHAKE-256/32 of the empty string.
func EmptyRoot() Hash { return shake() }

// compactRange holds the roots of the perfect subtrees that make up a tree of
// size leaves, largest first (one per set bit of size).
type compactRange struct {
	size  uint64
	nodes []Hash
}

func (c *compactRange) clone() compactRange {
	return compactRange{size: c.size, nodes: append([]Hash(nil), c.nodes...)}
}

// appendLeaf adds a leaf hash; emit (if non-nil) receives every perfect
// subtree root completed by the append, level 0 (the leaf) first.
func (c *compactRange) appendLeaf(leaf Hash, emit func(level uint, index uint64, h Hash)) {
	h, idx := leaf, c.size
	var level uint
	if emit != nil {
		emit(0, idx, h)
	}
	for idx&1 == 1 {
		left := c.nodes[len(c.nodes)-1]
		c.nodes = c.nodes[:len(c.nodes)-1]
		h = NodeHash(left, h)
		idx >>= 1
		level++
		if emit != nil {
			emit(level, idx, h)
		}
	}
	c.nodes = append(c.nodes, h)
	c.size++
}

// root returns the Merkle tree hash of the range.
func (c *compactRange) root() Hash {
	if len(c.nodes) == 0 {
		return EmptyRoot()
	}
	r := c.nodes[len(c.nodes)-1]
	for i := len(c.nodes) - 2; i >= 0; i-- {
		r = NodeHash(c.nodes[i], r)
	}
	return r
}

// compactFromSource loads the compact range of a tree of size leaves.
func compactFromSource(src nodeSource, size uint64) (compactRange, error) {
	c := compactRange{size: size}
	var start uint64
	for level := 63; level >= 0; level-- {
		if size&(1<<uint(level)) == 0 {
			continue
		}
		h, err := src.node(uint(level), start>>uint(level))
		if err != nil {
			return compactRange{}, err
		}
		c.nodes = append(c.nodes, h)
		start += 1 << uint(level)
	}
	return c, nil
}

// largestPow2Below returns the largest power of two strictly less than n (n > 1).
func largestPow2Below(n uint64) uint64 {
	return 1 << (bits.Len64(n-1) - 1)
}

// subtreeHash returns MTH(D[start:end]).
func subtreeHash(src nodeSource, start, end uint64) (Hash, error) {
	n := end - start
	if n == 0 {
		return EmptyRoot(), nil
	}
	if n&(n-1) == 0 {
		level := uint(bits.TrailingZeros64(n))
		if start&(n-1) == 0 {
			return src.node(level, start>>level)
		}
	}
	k := largestPow2Below(n)
	l, err := subtreeHash(src, start, start+k)
	if err != nil {
		return Hash{}, err
	}
	r, err := subtreeHash(src, start+k, end)
	if err != nil {
		return Hash{}, err
	}
	return NodeHash(l, r), nil
}

// inclusionPath returns the RFC 6962 audit path for leaf m in D[0:n].
func inclusionPath(src nodeSource, m, n uint64) ([]Hash, error) {
	if m >= n {
		return nil, fmt.Errorf("%w: leaf %d not in tree of size %d", ErrNotFound, m, n)
	}
	var path []Hash
	var rec func(start, end uint64) error
	rec = func(start, end uint64) error {
		if end-start == 1 {
			return nil
		}
		k := largestPow2Below(end - start)
		var sib Hash
		var err error
		if m-start < k {
			if err = rec(start, start+k); err != nil {
				return err
			}
			sib, err = subtreeHash(src, start+k, end)
		} else {
			if err = rec(start+k, end); err != nil {
				return err
			}
			sib, err = subtreeHash(src, start, start+k)
		}
		if err != nil {
			return err
		}
		path = append(path, sib)
		return nil
	}
	return path, rec(0, n)
}

// consistencyPath returns the RFC 6962 consistency proof between sizes m and n.
func consistencyPath(src nodeSource, m, n uint64) ([]Hash, error) {
	if m > n {
		return nil, fmt.Errorf("%w: old size %d greater than new size %d", ErrFormat, m, n)
	}
	if m == 0 || m == n {
		return nil, nil
	}
	var path []Hash
	var rec func(m, start, end uint64, complete bool) error
	rec = func(m, start, end uint64, complete bool) error {
		if m == end-start {
			if complete {
				return nil
			}
			h, err := subtreeHash(src, start, end)
			if err != nil {
				return err
			}
			path = append(path, h)
			return nil
		}
		k := largestPow2Below(end - start)
		var sib Hash
		var err error
		if m <= k {
			if err = rec(m, start, start+k, complete); err != nil {
				return err
			}
			sib, err = subtreeHash(src, start+k, end)
		} else {
			if err = rec(m-k, start+k, end, false); err != nil {
				return err
			}
			sib, err = subtreeHash(src, start, start+k)
		}
		if err != nil {
			return err
		}
		path = append(path, sib)
		return nil
	}
	return path, rec(m, 0, n, true)
}

// rootFromInclusion recomputes the root from a leaf hash and audit path
// (RFC 9162 section 2.1.3.2).
func rootFromInclusion(index, size uint64, leaf Hash, path []Hash) (Hash, error) {
	if index >= size {
		return Hash{}, fmt.Errorf("%w: index %d outside tree of size %d", ErrVerify, index, size)
	}
	fn, sn := index, size-1
	r := leaf
	for _, p := range path {
		if sn == 0 {
			return Hash{}, fmt.Errorf("%w: inclusion proof too long", ErrVerify)
		}
		if fn&1 == 1 || fn == sn {
			r = NodeHash(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = NodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return Hash{}, fmt.Errorf("%w: inclusion proof too short", ErrVerify)
	}
	return r, nil
}

// verifyConsistencyPath checks an RFC 6962 consistency proof (RFC 9162
// section 2.1.4.2).
func verifyConsistencyPath(first, second uint64, firstRoot, secondRoot Hash, path []Hash) error {
	switch {
	case first > second:
		return fmt.Errorf("%w: old size %d greater than new size %d", ErrVerify, first, second)
	case first == second:
		if len(path) != 0 || firstRoot != secondRoot {
			return fmt.Errorf("%w: equal sizes need an empty proof and equal roots", ErrVerify)
		}
		return nil
	case first == 0:
		if len(path) != 0 {
			return fmt.Errorf("%w: proof from the empty tree must be empty", ErrVerify)
		}
		return nil
	case len(path) == 0:
		return fmt.Errorf("%w: empty consistency proof", ErrVerify)
	}
	if first&(first-1) == 0 {
		path = append([]Hash{firstRoot}, path...)
	}
	fn, sn := first-1, second-1
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := path[0], path[0]
	for _, c := range path[1:] {
		if sn == 0 {
			return fmt.Errorf("%w: consistency proof too long", ErrVerify)
		}
		if fn&1 == 1 || fn == sn {
			fr = NodeHash(c, fr)
			sr = NodeHash(c, sr)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			sr = NodeHash(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return fmt.Errorf("%w: consistency proof too short", ErrVerify)
	}
	if fr != firstRoot {
		return fmt.Errorf("%w: consistency proof does not match the old root", ErrVerify)
	}
	if sr != secondRoot {
		return fmt.Errorf("%w: consistency proof does not match the new root", ErrVerify)
	}
	return nil
}

// memTree is an in-memory nodeSource built from leaf hashes; used by tests,
// the export verifier and the Reader's unpersisted tail.
type memTree struct {
	levels [][]Hash
}

func (t *memTree) appendLeaf(c *compactRange, leaf Hash) {
	c.appendLeaf(leaf, func(level uint, index uint64, h Hash) {
		for uint(len(t.levels)) <= level {
			t.levels = append(t.levels, nil)
		}
		t.levels[level] = append(t.levels[level], h)
	})
}

func (t *memTree) node(level uint, index uint64) (Hash, error) {
	if level >= uint(len(t.levels)) || index >= uint64(len(t.levels[level])) {
		return Hash{}, fmt.Errorf("%w: merkle node %d/%d", ErrNotFound, level, index)
	}
	return t.levels[level][index], nil
}

func bitsOnes(n uint64) int { return bits.OnesCount64(n) }
