package chain

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"sort"
)

// Read methods shared by Log and Reader. All are safe for concurrent use
// with appends.

// Info returns the chain's origin, chain id and public keys.
func (s *store) Info() ChainInfo { return s.info }

// PublicKeys returns the checkpoint verification keys.
func (s *store) PublicKeys() PublicKeys { return s.info.Keys }

// Len returns the number of events.
func (s *store) Len() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.size
}

// Head returns the number of events and the hash of the last one (zero for
// an empty chain).
func (s *store) Head() (uint64, Hash) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.size, s.head
}

func (s *store) published() (size, ncp uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.size, s.ncp
}

// Get returns the event with sequence number seq.
func (s *store) Get(seq uint64) (Event, error) {
	if size, _ := s.published(); seq >= size {
		return Event{}, fmt.Errorf("%w: seq %d (chain has %d events)", ErrNotFound, seq, size)
	}
	return s.get(seq)
}

func (s *store) get(seq uint64) (Event, error) {
	var ent [indexWidth]byte
	if err := s.index.read(seq, ent[:]); err != nil {
		return Event{}, err
	}
	seg := binary.LittleEndian.Uint32(ent[0:])
	off := binary.LittleEndian.Uint32(ent[4:])
	n := binary.LittleEndian.Uint32(ent[8:])
	body, err := s.readRecord(seg, off, n)
	var p *Problem
	if errors.As(err, &p) {
		p.Seq = seq
		return Event{}, corrupt(p)
	}
	if err != nil {
		return Event{}, err
	}
	e, err := decodeEvent(body)
	if err != nil {
		return Event{}, corrupt(&Problem{Kind: ProblemMalformed, Seq: seq, Segment: segmentName(seg), Offset: int64(off), Detail: err.Error()})
	}
	if e.Seq != seq {
		return Event{}, corrupt(&Problem{Kind: ProblemReordered, Seq: seq, Segment: segmentName(seg), Offset: int64(off),
			Detail: fmt.Sprintf("the index points at event %d", e.Seq)})
	}
	return e, nil
}

// Events iterates over events with from <= seq < to (to is clamped to the
// current length). Iteration stops at the first error, which is yielded.
func (s *store) Events(from, to uint64) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		if size := s.Len(); to > size {
			to = size
		}
		var r spanReader
		var evs []Event
		for seq := from; seq < to; {
			evs = s.span(&r, seq, min(to-seq, spanEvents), evs[:0])
			for _, e := range evs {
				if !yield(e, nil) {
					return
				}
			}
			seq += uint64(len(evs))
			if len(evs) == 0 || (seq < to && len(evs) < spanEvents) {
				// What ended the span is read alone (readspan.go).
				e, err := s.get(seq)
				if !yield(e, err) || err != nil {
					return
				}
				seq++
			}
		}
	}
}

// LatestCheckpoint returns the most recent durable checkpoint.
func (s *store) LatestCheckpoint() (Checkpoint, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.latest == nil {
		return Checkpoint{}, false
	}
	return *s.latest, true
}

// CheckpointCount returns the number of stored checkpoints.
func (s *store) CheckpointCount() uint64 {
	_, n := s.published()
	return n
}

// CheckpointAt returns the i-th stored checkpoint (0 = oldest).
func (s *store) CheckpointAt(i uint64) (Checkpoint, error) {
	if _, n := s.published(); i >= n {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint %d (have %d)", ErrNotFound, i, n)
	}
	return s.checkpointAt(i)
}

func (s *store) cpEntry(i uint64) (size uint64, seg, off, n uint32, err error) {
	var ent [cpWidth]byte
	if err := s.cps.read(i, ent[:]); err != nil {
		return 0, 0, 0, 0, err
	}
	return binary.LittleEndian.Uint64(ent[0:]), binary.LittleEndian.Uint32(ent[8:]),
		binary.LittleEndian.Uint32(ent[12:]), binary.LittleEndian.Uint32(ent[16:]), nil
}

func (s *store) checkpointAt(i uint64) (Checkpoint, error) {
	size, seg, off, n, err := s.cpEntry(i)
	if err != nil {
		return Checkpoint{}, err
	}
	body, err := s.readRecord(seg, off, n)
	var p *Problem
	if errors.As(err, &p) {
		p.Seq = size
		p.Detail = fmt.Sprintf("checkpoint %d: %s", i, p.Detail)
		return Checkpoint{}, corrupt(p)
	}
	if err != nil {
		return Checkpoint{}, err
	}
	cp, err := decodeCheckpoint(body)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint %d: %w", ErrCorrupt, i, err)
	}
	if cp.Size != size {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint index entry %d has size %d, record has %d", ErrCorrupt, i, size, cp.Size)
	}
	return cp, nil
}

// Checkpoints iterates over all stored checkpoints, oldest first.
func (s *store) Checkpoints() iter.Seq2[Checkpoint, error] {
	return func(yield func(Checkpoint, error) bool) {
		n := s.CheckpointCount()
		for i := range n {
			cp, err := s.checkpointAt(i)
			if !yield(cp, err) || err != nil {
				return
			}
		}
	}
}

// CheckpointCovering returns the oldest checkpoint whose tree contains seq.
func (s *store) CheckpointCovering(seq uint64) (Checkpoint, error) {
	_, n := s.published()
	var ioErr error
	i := sort.Search(int(n), func(i int) bool {
		size, _, _, _, err := s.cpEntry(uint64(i))
		if err != nil {
			ioErr = err
			return true
		}
		return size > seq
	})
	if ioErr != nil {
		return Checkpoint{}, ioErr
	}
	if uint64(i) == n {
		return Checkpoint{}, fmt.Errorf("%w: seq %d", ErrNoCheckpoint, seq)
	}
	return s.checkpointAt(uint64(i))
}

// Root returns the Merkle root of the first size events.
func (s *store) Root(size uint64) (Hash, error) {
	if n := s.Len(); size > n {
		return Hash{}, fmt.Errorf("%w: tree size %d (chain has %d events)", ErrNotFound, size, n)
	}
	return subtreeHash(fileTree{s.tree}, 0, size)
}

// InclusionProof proves event seq against the latest checkpoint, which it
// also returns.
func (s *store) InclusionProof(seq uint64) (InclusionProof, Checkpoint, error) {
	cp, ok := s.LatestCheckpoint()
	if !ok || seq >= cp.Size {
		return InclusionProof{}, Checkpoint{}, fmt.Errorf("%w: seq %d", ErrNoCheckpoint, seq)
	}
	p, err := s.InclusionProofAt(seq, cp.Size)
	return p, cp, err
}

// InclusionProofAt proves event seq in the tree of the first size events.
func (s *store) InclusionProofAt(seq, size uint64) (InclusionProof, error) {
	if n := s.Len(); size > n {
		return InclusionProof{}, fmt.Errorf("%w: tree size %d (chain has %d events)", ErrNotFound, size, n)
	}
	path, err := inclusionPath(fileTree{s.tree}, seq, size)
	if err != nil {
		return InclusionProof{}, err
	}
	return InclusionProof{Seq: seq, TreeSize: size, Hashes: path}, nil
}

// ConsistencyProof proves that the tree of oldSize events is a prefix of the
// tree of newSize events.
func (s *store) ConsistencyProof(oldSize, newSize uint64) (ConsistencyProof, error) {
	if n := s.Len(); newSize > n {
		return ConsistencyProof{}, fmt.Errorf("%w: tree size %d (chain has %d events)", ErrNotFound, newSize, n)
	}
	path, err := consistencyPath(fileTree{s.tree}, oldSize, newSize)
	if err != nil {
		return ConsistencyProof{}, err
	}
	return ConsistencyProof{OldSize: oldSize, NewSize: newSize, Hashes: path}, nil
}

// waitCovered blocks until a published checkpoint covers seq.
func (s *store) waitCovered(ctx context.Context, seq uint64) (Checkpoint, error) {
	for {
		s.mu.RLock()
		latest, wait := s.latest, s.cpWait
		s.mu.RUnlock()
		if latest != nil && latest.Size > seq {
			return *latest, nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return Checkpoint{}, ctx.Err()
		}
	}
}
