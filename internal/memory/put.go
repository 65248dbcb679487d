package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Item is one text to store with PutMany.
type Item struct {
	Text     string
	Meta     Meta
	ChainSeq uint64
}

// PutResult is the outcome of one Item.
type PutResult struct {
	Record  Record // the stored record (the existing one if not Created)
	Created bool   // false if a record with the same content existed
	// Err is the item's own failure (ErrEmptyText, ErrTooLarge,
	// ErrNoEmbedding); the other items are stored regardless.
	Err error
}

// Put stores text. The record ID is the BLAKE3 of text, so putting the same
// text again returns the existing record (whatever meta it was stored
// with) and created == false. A zero meta.Time is set to the current time.
func (s *Store) Put(ctx context.Context, text string, meta Meta, chainSeq uint64) (Record, bool, error) {
	res, err := s.PutMany(ctx, []Item{{Text: text, Meta: meta, ChainSeq: chainSeq}})
	if err != nil {
		return Record{}, false, err
	}
	return res[0].Record, res[0].Created, res[0].Err
}

// PutMany stores several texts with one embedder call and one database
// transaction. The error is a failure of the whole batch (embedder,
// database, closed store); per-item problems are in PutResult.Err.
func (s *Store) PutMany(ctx context.Context, items []Item) ([]PutResult, error) {
	res := make([]PutResult, len(items))
	ids := make([][32]byte, len(items))
	for i, it := range items {
		switch {
		case strings.TrimSpace(it.Text) == "":
			res[i].Err = ErrEmptyText
		case len(it.Text) > MaxTextBytes:
			res[i].Err = fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(it.Text), MaxTextBytes)
		default:
			id, _ := parseID(ContentID(it.Text))
			ids[i] = id
		}
	}

	// Which items are new? Embed those (once per distinct text) without
	// holding the lock.
	s.mu.RLock()
	if err := s.usable(); err != nil {
		s.mu.RUnlock()
		return nil, err
	}
	emb := s.emb
	var toEmbed []string
	embIdx := map[[32]byte]int{} // id → index in toEmbed
	err := s.kv.View(func(tx kvTx) error {
		for i, it := range items {
			if res[i].Err != nil {
				continue
			}
			if v := tx.Get(bucketRecords, ids[i][:]); v != nil {
				r, err := decodeRecord(ids[i], v)
				if err != nil {
					return err
				}
				res[i].Record = r
				continue
			}
			if _, ok := embIdx[ids[i]]; !ok {
				embIdx[ids[i]] = len(toEmbed)
				toEmbed = append(toEmbed, it.Text)
			}
		}
		return nil
	})
	s.mu.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("memory: put: %w", err)
	}
	if len(toEmbed) == 0 {
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.usable(); err != nil {
			return nil, err
		}
		return res, s.adoptLocked(items, res, ids)
	}
	vecs, err := emb.Embed(ctx, toEmbed)
	if err != nil {
		return nil, fmt.Errorf("memory: put: embed: %w", err)
	}
	if err := checkVectors(vecs, len(toEmbed), emb.Dim()); err != nil {
		return nil, fmt.Errorf("memory: put: %s: %w", emb.Name(), err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return nil, err
	}
	if s.emb != emb {
		return nil, fmt.Errorf("memory: put: the embedder changed during the call (re-embed); retry")
	}
	type added struct {
		i     int
		label uint64
		vec   []float32
	}
	var adds []added
	err = s.kv.Update(func(tx kvTx) error {
		adds = adds[:0]
		next := getU64(tx, keyNextLabel)
		for i, it := range items {
			if res[i].Err != nil || res[i].Record.ID != "" {
				continue
			}
			id := ids[i]
			vec := vecs[embIdx[id]]
			if isZero(vec) {
				res[i].Err = ErrNoEmbedding
				continue
			}
			if v := tx.Get(bucketRecords, id[:]); v != nil { // stored concurrently or earlier in this batch
				r, err := decodeRecord(id, v)
				if err != nil {
					return err
				}
				res[i].Record = r
				continue
			}
			meta := it.Meta
			if meta.Time.IsZero() {
				meta.Time = s.now()
			}
			meta.Time = meta.Time.UTC()
			meta.Tags = normalizeTags(meta.Tags)
			sr := storedRecord{Text: it.Text, Meta: meta, ChainSeq: it.ChainSeq, Label: next}
			b, err := json.Marshal(sr)
			if err != nil {
				return err
			}
			if err := tx.Put(bucketRecords, id[:], b); err != nil {
				return err
			}
			if err := tx.Put(bucketVectors, id[:], encodeVector(vec)); err != nil {
				return err
			}
			res[i].Record, res[i].Created = sr.record(id), true
			adds = append(adds, added{i, next, vec})
			next++
		}
		if len(adds) == 0 {
			return nil
		}
		if err := putU64(tx, keyNextLabel, next); err != nil {
			return err
		}
		if err := putU64(tx, keyIndexed, getU64(tx, keyIndexed)+uint64(len(adds))); err != nil {
			return err
		}
		return putU64(tx, keyGen, getU64(tx, keyGen)+1)
	})
	if err != nil {
		return nil, fmt.Errorf("memory: put: %w", err)
	}
	for _, a := range adds {
		if err := s.idx.Insert(a.label, a.vec); err != nil {
			// The database holds the record; the index is repaired
			// (rebuilt) at the next Open since its count is now off.
			return nil, fmt.Errorf("memory: put: index: %w", err)
		}
		s.entries[a.label] = newEntry(ids[a.i], res[a.i].Record.Meta)
		s.lex.add(a.label, res[a.i].Record.Text, res[a.i].Record.Meta)
		s.dirty = true
	}
	return res, s.adoptLocked(items, res, ids)
}

// adoptLocked records further owners of texts that were already stored:
// the same text stored by another agent (or asked to be shared) stays one
// record, now visible to that agent too. The caller holds s.mu.
func (s *Store) adoptLocked(items []Item, res []PutResult, ids [][32]byte) error {
	var pending []int
	for i, it := range items {
		r := res[i].Record
		if res[i].Err != nil || res[i].Created || r.ID == "" {
			continue
		}
		if (it.Meta.Agent != "" && it.Meta.Agent != r.Meta.Agent && !slices.Contains(r.Meta.Owners, it.Meta.Agent)) || (it.Meta.Shared && !r.Meta.Shared) {
			pending = append(pending, i)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	type changed struct {
		label uint64
		i     int
		meta  Meta
	}
	var changes []changed
	err := s.kv.Update(func(tx kvTx) error {
		changes = changes[:0]
		for _, i := range pending {
			id := ids[i]
			v := tx.Get(bucketRecords, id[:])
			if v == nil {
				continue // deleted meanwhile
			}
			var sr storedRecord
			if err := json.Unmarshal(v, &sr); err != nil {
				return fmt.Errorf("%w: record %x: %w", ErrCorrupt, id, err)
			}
			agent := items[i].Meta.Agent
			if agent != "" && agent != sr.Meta.Agent && !slices.Contains(sr.Meta.Owners, agent) {
				sr.Meta.Owners = append(sr.Meta.Owners, agent)
			}
			sr.Meta.Shared = sr.Meta.Shared || items[i].Meta.Shared
			b, err := json.Marshal(sr)
			if err != nil {
				return err
			}
			if err := tx.Put(bucketRecords, id[:], b); err != nil {
				return err
			}
			changes = append(changes, changed{sr.Label, i, sr.Meta})
		}
		return putU64(tx, keyGen, getU64(tx, keyGen)+1)
	})
	if err != nil {
		return fmt.Errorf("memory: put: %w", err)
	}
	for _, c := range changes {
		s.entries[c.label] = newEntry(ids[c.i], c.meta)
		res[c.i].Record.Meta = c.meta
	}
	return nil
}

func decodeRecord(id [32]byte, v []byte) (Record, error) {
	var r storedRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return Record{}, fmt.Errorf("%w: record %x: %w", ErrCorrupt, id, err)
	}
	return r.record(id), nil
}

// checkVectors validates what an embedder returned.
func checkVectors(vecs [][]float32, n, dim int) error {
	if len(vecs) != n {
		return fmt.Errorf("%w: %d vectors for %d texts", ErrBadEmbedding, len(vecs), n)
	}
	for i, v := range vecs {
		if len(v) != dim {
			return fmt.Errorf("%w: vector %d has %d dimensions, want %d", ErrBadEmbedding, i, len(v), dim)
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("%w: vector %d has a non-finite component", ErrBadEmbedding, i)
			}
		}
	}
	return nil
}

func isZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}
