// Package witness lets cluster members hold each other's audit chains to
// account. A node states its chain's keys, its latest signed checkpoint and
// a consistency proof from the size its witness last saw (Make); the
// witness (Book.Observe) checks the signatures, that the keys are the
// node's (its node id derives from them), and that the new checkpoint
// extends the last one it witnessed. A chain that went back, changed its
// root at the same size, changed keys, or whose proof does not verify was
// forked or rewritten: the node is marked forked for good, with the
// evidence (both checkpoints). The book persists across restarts.
//
// The package knows only the chain; the daemon exchanges statements over
// the cluster and records what was witnessed on its own chain.
package witness

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/durable"
	"github.com/weftos/weftos/internal/identity"
)

// ErrBadStatement: a statement that proves nothing (malformed, signatures
// that do not verify, keys that are not the node's). It is not evidence of
// a fork: anyone could have made it.
var ErrBadStatement = errors.New("witness: bad statement")

// ErrNoCheckpoint: the chain has no checkpoint to state yet.
var ErrNoCheckpoint = errors.New("witness: the chain has no checkpoint yet")

// Statement is what a node tells its witnesses.
type Statement struct {
	Ed25519    []byte           `json:"ed25519"`
	MLDSA65    []byte           `json:"mldsa65"`
	Checkpoint chain.Checkpoint `json:"checkpoint"`
	// Proof is a consistency proof (chain.ConsistencyProof's binary form)
	// from the size the witness asked about to the checkpoint's size.
	Proof []byte `json:"proof,omitempty"`
}

// Source is the chain a statement is made from (*chain.Log).
type Source interface {
	LatestCheckpoint() (chain.Checkpoint, bool)
	ConsistencyProof(oldSize, newSize uint64) (chain.ConsistencyProof, error)
	PublicKeys() chain.PublicKeys
}

// Make states the chain's latest checkpoint, with a consistency proof from
// since (the size the witness last saw; 0 for none) when since is below it.
func Make(src Source, since uint64) (Statement, error) {
	cp, ok := src.LatestCheckpoint()
	if !ok {
		return Statement{}, ErrNoCheckpoint
	}
	pub := src.PublicKeys()
	st := Statement{Ed25519: pub.Ed25519, Checkpoint: cp}
	if pub.MLDSA65 != nil {
		b, err := pub.MLDSA65.MarshalBinary()
		if err != nil {
			return Statement{}, err
		}
		st.MLDSA65 = b
	}
	if since > 0 && since < cp.Size {
		p, err := src.ConsistencyProof(since, cp.Size)
		if err != nil {
			return Statement{}, fmt.Errorf("witness: consistency proof %d→%d: %w", since, cp.Size, err)
		}
		if st.Proof, err = p.MarshalBinary(); err != nil {
			return Statement{}, err
		}
	}
	return st, nil
}

// keys decodes and checks the statement's keys against node.
func (s *Statement) keys(node string) (chain.PublicKeys, error) {
	if len(s.Ed25519) != ed25519.PublicKeySize {
		return chain.PublicKeys{}, fmt.Errorf("%w: no Ed25519 key", ErrBadStatement)
	}
	if identity.NodeIDFor(ed25519.PublicKey(s.Ed25519)) != node {
		return chain.PublicKeys{}, fmt.Errorf("%w: the chain's key is not node %s's", ErrBadStatement, node)
	}
	var ml mldsa65.PublicKey
	if err := ml.UnmarshalBinary(s.MLDSA65); err != nil {
		return chain.PublicKeys{}, fmt.Errorf("%w: ML-DSA-65 key: %w", ErrBadStatement, err)
	}
	return chain.PublicKeys{Ed25519: ed25519.PublicKey(s.Ed25519), MLDSA65: &ml}, nil
}

// Record is what a witness holds of one node's chain.
type Record struct {
	Node string `json:"node"`
	// Checkpoint is the last checkpoint witnessed as consistent.
	Checkpoint chain.Checkpoint `json:"checkpoint"`
	// Keys is the fingerprint of the chain keys first seen (pinned).
	Keys      string    `json:"keys"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"` // when a statement was last checked
	Witnessed int       `json:"witnessed"`
	// Forked: the node's chain was forked or rewritten; Evidence is the
	// checkpoint that does not extend Checkpoint.
	Forked   bool              `json:"forked,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Evidence *chain.Checkpoint `json:"evidence,omitempty"`
	ForkedAt time.Time         `json:"forked_at,omitzero"`
}

// Outcome is what a statement changed.
type Outcome int

// Outcomes of Observe.
const (
	Unchanged Outcome = iota // the same checkpoint as before (or the node is already known forked)
	Advanced                 // a new checkpoint, consistent with the last
	Forked                   // the statement proves a fork or a rewrite (first detection)
)

// Book is a witness's records, persisted in one file.
type Book struct {
	path  string
	mu    sync.Mutex
	peers map[string]*Record
}

// Open loads the book at path (a missing file is an empty book).
func Open(path string) (*Book, error) {
	b := &Book{path: path, peers: map[string]*Record{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return b, nil
	}
	if err != nil {
		return nil, fmt.Errorf("witness: %w", err)
	}
	var recs []*Record
	if err := json.Unmarshal(data, &recs); err != nil {
		return nil, fmt.Errorf("witness: %s: %w", path, err)
	}
	for _, r := range recs {
		b.peers[r.Node] = r
	}
	return b, nil
}

// Since is the size of node's last witnessed checkpoint (0: none).
func (b *Book) Since(node string) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.peers[node]; r != nil {
		return r.Checkpoint.Size
	}
	return 0
}

// Get returns node's record.
func (b *Book) Get(node string) (Record, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.peers[node]
	if r == nil {
		return Record{}, false
	}
	return *r, true
}

// List returns every record, by node id.
func (b *Book) List() []Record {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Record, 0, len(b.peers))
	for _, r := range b.peers {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out
}

// Observe checks node's statement against what was witnessed of it. A bad
// statement changes nothing and returns an error wrapping ErrBadStatement.
func (b *Book) Observe(node string, st Statement, now time.Time) (Outcome, Record, error) {
	pub, err := st.keys(node)
	if err != nil {
		return Unchanged, Record{}, err
	}
	cp := st.Checkpoint
	if cp.Origin != node {
		return Unchanged, Record{}, fmt.Errorf("%w: checkpoint of origin %q, not %s", ErrBadStatement, cp.Origin, node)
	}
	if err := cp.Verify(pub); err != nil {
		return Unchanged, Record{}, fmt.Errorf("%w: %w", ErrBadStatement, err)
	}
	fp := pub.Fingerprint()
	keys := fmt.Sprintf("%x", fp[:])
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.peers[node]
	if r == nil {
		r = &Record{Node: node, Checkpoint: cp, Keys: keys, First: now, Last: now, Witnessed: 1}
		b.peers[node] = r
		return Advanced, *r, b.save()
	}
	r.Last = now
	if r.Forked {
		return Unchanged, *r, nil
	}
	prev := r.Checkpoint
	var why string
	switch {
	case keys != r.Keys:
		why = "the chain's keys changed"
	case cp.Size < prev.Size:
		why = fmt.Sprintf("the chain went back from %d to %d events", prev.Size, cp.Size)
	case cp.Size == prev.Size && cp.Root != prev.Root:
		why = fmt.Sprintf("another root for the same %d events", cp.Size)
	case cp.Size == prev.Size:
		return Unchanged, *r, nil
	default:
		var p chain.ConsistencyProof
		if err := p.UnmarshalBinary(st.Proof); err != nil {
			// A proof that is missing or malformed proves nothing either way.
			return Unchanged, *r, fmt.Errorf("%w: consistency proof %d→%d: %w", ErrBadStatement, prev.Size, cp.Size, err)
		}
		if p.OldSize != prev.Size || p.NewSize != cp.Size {
			return Unchanged, *r, fmt.Errorf("%w: a proof %d→%d, wanted %d→%d", ErrBadStatement, p.OldSize, p.NewSize, prev.Size, cp.Size)
		}
		if err := chain.VerifyConsistency(pub, prev, cp, p); err != nil {
			why = fmt.Sprintf("the checkpoint of %d events does not extend the one of %d witnessed: %v", cp.Size, prev.Size, err)
		}
	}
	if why != "" {
		ev := cp
		r.Forked, r.Reason, r.Evidence, r.ForkedAt = true, why, &ev, now
		return Forked, *r, b.save()
	}
	r.Checkpoint = cp
	r.Witnessed++
	return Advanced, *r, b.save()
}

// Forget drops every record (the node left its cluster).
func (b *Book) Forget() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.peers = map[string]*Record{}
	if err := os.Remove(b.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("witness: %w", err)
	}
	return nil
}

// save writes the book via a synced temporary file and a rename. Callers
// hold b.mu.
func (b *Book) save() error {
	recs := make([]*Record, 0, len(b.peers))
	for _, r := range b.peers {
		recs = append(recs, r)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Node < recs[j].Node })
	data, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return err
	}
	if err := durable.WriteFile(b.path, data); err != nil {
		return fmt.Errorf("witness: saving %s: %w", b.path, err)
	}
	return nil
}
