package chain

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// maxProofHashes bounds proof lengths accepted by decoders (trees of up to
// 2^64 leaves need at most 64 hashes for inclusion, 128 for consistency).
const maxProofHashes = 128

// InclusionProof proves that the event with sequence number Seq is leaf Seq
// of the tree of TreeSize events. Hashes is the RFC 6962 audit path, leaf to
// root; it holds at most ⌈log2 TreeSize⌉ hashes.
type InclusionProof struct {
	Seq      uint64 `json:"seq"`
	TreeSize uint64 `json:"tree_size"`
	Hashes   []Hash `json:"hashes"`
}

// ConsistencyProof proves that the tree of OldSize events is a prefix of the
// tree of NewSize events (RFC 6962 section 2.1.2).
type ConsistencyProof struct {
	OldSize uint64 `json:"old_size"`
	NewSize uint64 `json:"new_size"`
	Hashes  []Hash `json:"hashes"`
}

// MarshalBinary encodes p as u64le(seq) ‖ u64le(tree_size) ‖ u8(count) ‖ hashes.
func (p InclusionProof) MarshalBinary() ([]byte, error) {
	return appendProof(nil, p.Seq, p.TreeSize, p.Hashes)
}

// UnmarshalBinary decodes the MarshalBinary encoding.
func (p *InclusionProof) UnmarshalBinary(b []byte) error {
	a, n, h, err := decodeProof(b)
	if err != nil {
		return err
	}
	*p = InclusionProof{Seq: a, TreeSize: n, Hashes: h}
	return nil
}

// MarshalBinary encodes p as u64le(old) ‖ u64le(new) ‖ u8(count) ‖ hashes.
func (p ConsistencyProof) MarshalBinary() ([]byte, error) {
	return appendProof(nil, p.OldSize, p.NewSize, p.Hashes)
}

// UnmarshalBinary decodes the MarshalBinary encoding.
func (p *ConsistencyProof) UnmarshalBinary(b []byte) error {
	a, n, h, err := decodeProof(b)
	if err != nil {
		return err
	}
	*p = ConsistencyProof{OldSize: a, NewSize: n, Hashes: h}
	return nil
}

func appendProof(b []byte, a, n uint64, hashes []Hash) ([]byte, error) {
	if len(hashes) > maxProofHashes {
		return nil, fmt.Errorf("%w: proof has %d hashes", ErrFormat, len(hashes))
	}
	b = binary.LittleEndian.AppendUint64(b, a)
	b = binary.LittleEndian.AppendUint64(b, n)
	b = append(b, byte(len(hashes)))
	for _, h := range hashes {
		b = append(b, h[:]...)
	}
	return b, nil
}

func decodeProof(b []byte) (uint64, uint64, []Hash, error) {
	if len(b) < 17 {
		return 0, 0, nil, fmt.Errorf("%w: proof shorter than 17 bytes", ErrFormat)
	}
	a := binary.LittleEndian.Uint64(b)
	n := binary.LittleEndian.Uint64(b[8:])
	count := int(b[16])
	rest := b[17:]
	if count > maxProofHashes || len(rest) != count*HashSize {
		return 0, 0, nil, fmt.Errorf("%w: proof length does not match its hash count", ErrFormat)
	}
	hashes := make([]Hash, count)
	for i := range hashes {
		copy(hashes[i][:], rest[i*HashSize:])
	}
	return a, n, hashes, nil
}

// maxInclusionLen is ⌈log2 n⌉.
func maxInclusionLen(n uint64) int {
	if n <= 1 {
		return 0
	}
	return bits.Len64(n - 1)
}

// VerifyInclusionProof checks p against a trusted root without signatures.
func VerifyInclusionProof(root, eventHash Hash, p InclusionProof) error {
	if len(p.Hashes) > maxInclusionLen(p.TreeSize) {
		return fmt.Errorf("%w: inclusion proof longer than ⌈log2 %d⌉", ErrVerify, p.TreeSize)
	}
	got, err := rootFromInclusion(p.Seq, p.TreeSize, LeafHash(eventHash), p.Hashes)
	if err != nil {
		return err
	}
	if got != root {
		return fmt.Errorf("%w: inclusion proof for seq %d does not lead to the root", ErrVerify, p.Seq)
	}
	return nil
}

// VerifyInclusion checks both signatures of cp, that cp covers the proof's
// tree size, and that eventHash is leaf p.Seq of cp's tree.
func VerifyInclusion(pub PublicKeys, cp Checkpoint, eventHash Hash, p InclusionProof) error {
	if cp.Size != p.TreeSize {
		return fmt.Errorf("%w: proof for tree size %d, checkpoint has size %d", ErrVerify, p.TreeSize, cp.Size)
	}
	if err := cp.Verify(pub); err != nil {
		return err
	}
	return VerifyInclusionProof(cp.Root, eventHash, p)
}

// VerifyConsistencyProof checks p between two trusted roots.
func VerifyConsistencyProof(oldRoot, newRoot Hash, p ConsistencyProof) error {
	if len(p.Hashes) > maxProofHashes {
		return fmt.Errorf("%w: consistency proof too long", ErrVerify)
	}
	return verifyConsistencyPath(p.OldSize, p.NewSize, oldRoot, newRoot, p.Hashes)
}

// VerifyConsistency checks both checkpoints' signatures and origins and that
// oldCP's tree is a prefix of newCP's tree.
func VerifyConsistency(pub PublicKeys, oldCP, newCP Checkpoint, p ConsistencyProof) error {
	if oldCP.Size != p.OldSize || newCP.Size != p.NewSize {
		return fmt.Errorf("%w: proof sizes %d→%d do not match checkpoints %d→%d", ErrVerify, p.OldSize, p.NewSize, oldCP.Size, newCP.Size)
	}
	if oldCP.Origin != newCP.Origin {
		return fmt.Errorf("%w: checkpoints from different origins", ErrVerify)
	}
	if err := oldCP.Verify(pub); err != nil {
		return err
	}
	if err := newCP.Verify(pub); err != nil {
		return err
	}
	return VerifyConsistencyProof(oldCP.Root, newCP.Root, p)
}
