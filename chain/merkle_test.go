package chain

import (
	"encoding/binary"
	"errors"
	"testing"
)

// naiveRoot is MTH from RFC 6962 section 2.1, written from the definition.
func naiveRoot(leaves []Hash) Hash {
	switch len(leaves) {
	case 0:
		return EmptyRoot()
	case 1:
		return leaves[0]
	}
	k := largestPow2Below(uint64(len(leaves)))
	return NodeHash(naiveRoot(leaves[:k]), naiveRoot(leaves[k:]))
}

func testLeaves(n int) []Hash {
	out := make([]Hash, n)
	for i := range out {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(i))
		out[i] = LeafHash(shake(b[:]))
	}
	return out
}

func buildMemTree(leaves []Hash) (*memTree, compactRange) {
	var t memTree
	var c compactRange
	for _, l := range leaves {
		t.appendLeaf(&c, l)
	}
	return &t, c
}

func TestMerkleAgainstNaive(t *testing.T) {
	const maxN = 40
	leaves := testLeaves(maxN)
	tree, _ := buildMemTree(leaves)
	for n := uint64(1); n <= maxN; n++ {
		want := naiveRoot(leaves[:n])
		got, err := subtreeHash(tree, 0, n)
		if err != nil || got != want {
			t.Fatalf("root(%d): %v", n, err)
		}
		c, err := compactFromSource(tree, n)
		if err != nil || c.root() != want {
			t.Fatalf("compact root(%d): %v", n, err)
		}
		for m := range n {
			path, err := inclusionPath(tree, m, n)
			if err != nil {
				t.Fatal(err)
			}
			if len(path) > maxInclusionLen(n) {
				t.Fatalf("inclusion path %d/%d has %d hashes", m, n, len(path))
			}
			root, err := rootFromInclusion(m, n, leaves[m], path)
			if err != nil || root != want {
				t.Fatalf("inclusion %d/%d: %v", m, n, err)
			}
			if m > 0 {
				if r, err := rootFromInclusion(m-1, n, leaves[m], path); err == nil && r == want {
					t.Fatalf("inclusion %d/%d accepted for wrong index", m, n)
				}
			}
		}
		for m := uint64(0); m <= n; m++ {
			path, err := consistencyPath(tree, m, n)
			if err != nil {
				t.Fatal(err)
			}
			oldRoot := naiveRoot(leaves[:m])
			if err := verifyConsistencyPath(m, n, oldRoot, want, path); err != nil {
				t.Fatalf("consistency %d→%d: %v", m, n, err)
			}
			if m > 0 && m < n {
				bad := append([]Hash(nil), path...)
				bad[0][0] ^= 1
				if err := verifyConsistencyPath(m, n, oldRoot, want, bad); !errors.Is(err, ErrVerify) {
					t.Fatalf("tampered consistency %d→%d accepted", m, n)
				}
				if err := verifyConsistencyPath(m, n, naiveRoot(leaves[1:m+1]), want, path); err == nil {
					t.Fatalf("consistency %d→%d accepted a wrong old root", m, n)
				}
			}
		}
	}
}

func TestTreePosMatchesAppendOrder(t *testing.T) {
	var c compactRange
	pos := uint64(0)
	for i := range 300 {
		c.appendLeaf(Hash{}, func(level uint, index uint64, _ Hash) {
			if got := treePos(level, index); got != pos {
				t.Fatalf("leaf %d: node %d/%d at %d, treePos says %d", i, level, index, pos, got)
			}
			pos++
		})
		if treeEntries(uint64(i+1)) != pos {
			t.Fatalf("treeEntries(%d) = %d, want %d", i+1, treeEntries(uint64(i+1)), pos)
		}
	}
}

func TestProofBinaryRoundTrip(t *testing.T) {
	leaves := testLeaves(1000)
	tree, c := buildMemTree(leaves)
	path, err := inclusionPath(tree, 517, 1000)
	if err != nil {
		t.Fatal(err)
	}
	p := InclusionProof{Seq: 517, TreeSize: 1000, Hashes: path}
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if hashBytes := len(b) - 17; hashBytes > 32*10 {
		t.Fatalf("proof carries %d hash bytes, bound is %d", hashBytes, 32*10)
	}
	var q InclusionProof
	if err := q.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if root, err := rootFromInclusion(q.Seq, q.TreeSize, leaves[517], q.Hashes); err != nil || root != c.root() {
		t.Fatalf("decoded proof does not verify: %v", err)
	}
	if err := q.UnmarshalBinary(b[:len(b)-1]); !errors.Is(err, ErrFormat) {
		t.Fatalf("truncated proof: %v", err)
	}
}
