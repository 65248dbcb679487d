// Package chainquery answers the read-only questions the `weave chain`
// commands ask of an ExoChain — status, events, proofs, keys — in one wire
// format, whether the answer comes from the running daemon's log (over the
// local API) or from the chain directory on disk when no daemon runs.
package chainquery

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/weftos/weftos/chain"
)

// Source is what the queries read: *chain.Log and *chain.Reader both
// satisfy it.
type Source interface {
	Info() chain.ChainInfo
	Len() uint64
	Head() (uint64, chain.Hash)
	Get(seq uint64) (chain.Event, error)
	Events(from, to uint64) iter.Seq2[chain.Event, error]
	LatestCheckpoint() (chain.Checkpoint, bool)
	CheckpointCount() uint64
	CheckpointCovering(seq uint64) (chain.Checkpoint, error)
	Root(size uint64) (chain.Hash, error)
	InclusionProof(seq uint64) (chain.InclusionProof, chain.Checkpoint, error)
	ConsistencyProof(oldSize, newSize uint64) (chain.ConsistencyProof, error)
	Export(ctx context.Context, w io.Writer, from uint64) error
}

var (
	_ Source = (*chain.Log)(nil)
	_ Source = (*chain.Reader)(nil)
)

// Keys are the chain's public keys, hex encoded.
type Keys struct {
	Origin      string `json:"origin"`
	ChainID     uint32 `json:"chain_id"`
	Ed25519     string `json:"ed25519_public_key"`
	MLDSA65     string `json:"mldsa65_public_key"`
	Fingerprint string `json:"fingerprint"`
}

// Status summarises a chain.
type Status struct {
	Length         uint64            `json:"length"`
	Head           *chain.Hash       `json:"head,omitempty"`
	Checkpoints    uint64            `json:"checkpoints"`
	LastCheckpoint *chain.Checkpoint `json:"last_checkpoint,omitempty"`
	Keys           Keys              `json:"keys"`
}

// Proof is an inclusion proof with what is needed to check it.
type Proof struct {
	Event      chain.Event          `json:"event"`
	Proof      chain.InclusionProof `json:"proof"`
	Checkpoint chain.Checkpoint     `json:"checkpoint"`
	// ProofBytes is the size of the proof's hashes.
	ProofBytes int `json:"proof_bytes"`
}

// Consistency is a consistency proof between two tree sizes with the
// chain's roots at those sizes.
type Consistency struct {
	Proof   chain.ConsistencyProof `json:"proof"`
	OldRoot chain.Hash             `json:"old_root"`
	NewRoot chain.Hash             `json:"new_root"`
}

// GetKeys returns the chain's keys.
func GetKeys(s Source) (Keys, error) {
	info := s.Info()
	ed := info.Keys.Ed25519
	if info.Keys.MLDSA65 == nil {
		return Keys{}, errors.New("chainquery: the chain has no ML-DSA-65 key")
	}
	ml, err := info.Keys.MLDSA65.MarshalBinary()
	if err != nil {
		return Keys{}, err
	}
	return Keys{Origin: info.Origin, ChainID: info.ChainID, Ed25519: hex.EncodeToString(ed), MLDSA65: hex.EncodeToString(ml),
		Fingerprint: info.Keys.Fingerprint().String()}, nil
}

// GetStatus summarises s.
func GetStatus(s Source) (Status, error) {
	keys, err := GetKeys(s)
	if err != nil {
		return Status{}, err
	}
	st := Status{Length: s.Len(), Checkpoints: s.CheckpointCount(), Keys: keys}
	if st.Length > 0 {
		_, h := s.Head()
		st.Head = &h
	}
	if cp, ok := s.LatestCheckpoint(); ok {
		st.LastCheckpoint = &cp
	}
	return st, nil
}

// Tail returns up to n events of kind (all kinds when "") ending at the
// head, oldest first. It scans backwards in windows so a long chain is not
// read whole.
func Tail(s Source, n int, kind string) ([]chain.Event, error) {
	return TailTo(s, s.Len(), n, kind)
}

// TailTo is Tail over the events before seq end: a follower reads the
// length once, tails up to it and streams from it, so an event appended
// in between is neither lost nor sent twice.
func TailTo(s Source, end uint64, n int, kind string) ([]chain.Event, error) {
	if n <= 0 {
		n = 20
	}
	if length := s.Len(); end > length {
		end = length
	}
	var out []chain.Event
	for end > 0 && len(out) < n {
		start := uint64(0)
		if end > 1024 {
			start = end - 1024
		}
		var win []chain.Event
		for ev, err := range s.Events(start, end) {
			if err != nil {
				return nil, err
			}
			if kind == "" || ev.Kind == kind {
				win = append(win, ev)
			}
		}
		out = append(win, out...)
		end = start
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out, nil
}

// Since returns the events after seq from (inclusive) of kind, at most n.
func Since(s Source, from uint64, n int, kind string) ([]chain.Event, error) {
	var out []chain.Event
	for ev, err := range s.Events(from, s.Len()) {
		if err != nil {
			return nil, err
		}
		if kind == "" || ev.Kind == kind {
			out = append(out, ev)
			if n > 0 && len(out) >= n {
				break
			}
		}
	}
	return out, nil
}

// Prove returns an inclusion proof of seq against the latest checkpoint
// and checks it (signatures included) before returning it.
func Prove(s Source, seq uint64) (Proof, error) {
	ev, err := s.Get(seq)
	if err != nil {
		return Proof{}, err
	}
	p, cp, err := s.InclusionProof(seq)
	if err != nil {
		return Proof{}, err
	}
	if err := chain.VerifyInclusion(s.Info().Keys, cp, ev.Hash, p); err != nil {
		return Proof{}, fmt.Errorf("chainquery: the chain's own proof does not verify: %w", err)
	}
	return Proof{Event: ev, Proof: p, Checkpoint: cp, ProofBytes: len(p.Hashes) * chain.HashSize}, nil
}

// Consistent returns a consistency proof between two tree sizes and checks
// it against the roots.
func Consistent(s Source, oldSize, newSize uint64) (Consistency, error) {
	p, err := s.ConsistencyProof(oldSize, newSize)
	if err != nil {
		return Consistency{}, err
	}
	oldRoot, err := s.Root(oldSize)
	if err != nil {
		return Consistency{}, err
	}
	newRoot, err := s.Root(newSize)
	if err != nil {
		return Consistency{}, err
	}
	if err := chain.VerifyConsistencyProof(oldRoot, newRoot, p); err != nil {
		return Consistency{}, fmt.Errorf("chainquery: the chain's own proof does not verify: %w", err)
	}
	return Consistency{Proof: p, OldRoot: oldRoot, NewRoot: newRoot}, nil
}
