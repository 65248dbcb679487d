// Package lightnode is the browser light node's logic, kept free of
// syscall/js so that it is tested natively: it verifies a node's exported
// chain with the chain package, searches a memory snapshot with the memory
// package, and chats with an agent over the gateway's WebSocket channel.
// examples/browser wires it to JavaScript.
package lightnode

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/embed"
	"github.com/weftos/weftos/internal/memory"
)

// Sentinel errors.
var (
	// ErrSnapshot is a malformed memory snapshot.
	ErrSnapshot = errors.New("lightnode: bad memory snapshot")
	// ErrChat is a failed chat exchange (refused, closed, an error frame).
	ErrChat = errors.New("lightnode: chat failed")
)

// VerifyResult is the outcome of VerifyChain.
type VerifyResult struct {
	OK          bool    `json:"ok"`
	Events      uint64  `json:"events"`
	Checkpoints uint64  `json:"checkpoints"`
	Head        string  `json:"head"`
	Uncovered   uint64  `json:"uncovered"`
	Problem     string  `json:"problem,omitempty"`
	Seconds     float64 `json:"seconds"`
	EventsPerS  float64 `json:"events_per_second"`
}

// VerifyChain checks a `weave chain export` stream (JSON Lines) exactly as
// `weave chain verify --export` does: hashes, links, Merkle roots and both
// checkpoint signatures. now measures the time taken (time.Now in the
// browser). The error is non-nil only if r fails.
func VerifyChain(r io.Reader, now func() time.Time) (VerifyResult, error) {
	t0 := now()
	rep, err := chain.VerifyExport(r, chain.VerifyOptions{})
	if err != nil {
		return VerifyResult{}, err
	}
	d := now().Sub(t0).Seconds()
	res := VerifyResult{OK: rep.OK(), Events: rep.Events, Checkpoints: rep.Checkpoints,
		Head: rep.Head.String(), Uncovered: rep.Uncovered, Seconds: d}
	if rep.Problem != nil {
		res.Problem = rep.Problem.Error()
	}
	if d > 0 {
		res.EventsPerS = float64(rep.Events) / d
	}
	return res, nil
}

// Snapshot is a memory store held in the browser's memory, filled from a
// snapshot: JSON Lines, one memory.Record per line (id, text, meta,
// chain_seq). Every record's id must be the BLAKE3 of its text, so a
// snapshot cannot attribute a text to another record. Texts are embedded
// with the built-in lexical embedder, which needs no network.
type Snapshot struct {
	store *memory.Store
	n     int
}

// maxSnapshotLine bounds one line of a snapshot.
const maxSnapshotLine = 1 << 20

// LoadSnapshot reads a snapshot into a new in-memory store.
func LoadSnapshot(ctx context.Context, r io.Reader) (*Snapshot, error) {
	emb, err := embed.NewLexical(0)
	if err != nil {
		return nil, err
	}
	var items []memory.Item
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxSnapshotLine)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var rec memory.Record
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrSnapshot, line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%w: line %d: data after the record", ErrSnapshot, line)
		}
		if rec.Text == "" {
			return nil, fmt.Errorf("%w: line %d: empty text", ErrSnapshot, line)
		}
		if want := memory.ContentID(rec.Text); rec.ID != want {
			return nil, fmt.Errorf("%w: line %d: id %q is not the BLAKE3 of the text (%s)", ErrSnapshot, line, rec.ID, want)
		}
		items = append(items, memory.Item{Text: rec.Text, Meta: rec.Meta, ChainSeq: rec.ChainSeq})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSnapshot, err)
	}
	st, err := memory.Open(ctx, "", memory.Options{Embedder: emb, InMemory: true})
	if err != nil {
		return nil, err
	}
	res, err := st.PutMany(ctx, items)
	if err != nil {
		_ = st.Close(ctx)
		return nil, err
	}
	n := 0
	for i, r := range res {
		switch {
		case errors.Is(r.Err, memory.ErrNoEmbedding):
			// A text with no letters or digits cannot be searched by the
			// lexical embedder; it is still counted as loaded.
		case r.Err != nil:
			_ = st.Close(ctx)
			return nil, fmt.Errorf("%w: record %d: %v", ErrSnapshot, i+1, r.Err)
		}
		n++
	}
	return &Snapshot{store: st, n: n}, nil
}

// Len returns the number of records loaded.
func (s *Snapshot) Len() int { return s.n }

// Search returns up to k records most similar to query.
func (s *Snapshot) Search(ctx context.Context, query string, k int) ([]memory.Hit, error) {
	return s.store.Search(ctx, query, k, memory.Filter{})
}

// Close releases the store.
func (s *Snapshot) Close(ctx context.Context) error { return s.store.Close(ctx) }
