package memory

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
)

// reembedBatch is the number of texts per embedder call during Reembed.
const reembedBatch = 64

// Reembed re-embeds every record with emb, replaces the stored vectors and
// the index in one transaction, records emb as the store's embedder and
// saves the index. It is how a store opened with AllowEmbedderMismatch
// becomes usable again, and how a store is switched to another embedder.
// progress (optional) is called after each batch with the records done and
// the total. Other calls wait while it runs. If it fails or ctx is
// cancelled, the store keeps its previous vectors and embedder.
func (s *Store) Reembed(ctx context.Context, emb Embedder, progress func(done, total int)) error {
	if emb == nil {
		return fmt.Errorf("%w: nil embedder", ErrInvalidOptions)
	}
	if d := emb.Dim(); d < 1 || d > 1<<16 {
		return fmt.Errorf("%w: embedder dimension %d", ErrInvalidOptions, d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	labels := slices.Sorted(func(yield func(uint64) bool) {
		for l := range s.entries {
			if !yield(l) {
				return
			}
		}
	})
	total := len(labels)
	if err := s.kv.Update(func(tx kvTx) error { return tx.ClearBucket(bucketStaging) }); err != nil {
		return fmt.Errorf("memory: reembed: %w", err)
	}
	for start := 0; start < total; start += reembedBatch {
		end := min(start+reembedBatch, total)
		texts := make([]string, 0, end-start)
		err := s.kv.View(func(tx kvTx) error {
			for _, l := range labels[start:end] {
				id := s.entries[l].id
				r, err := decodeRecord(id, tx.Get(bucketRecords, id[:]))
				if err != nil {
					return err
				}
				texts = append(texts, r.Text)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("memory: reembed: %w", err)
		}
		vecs, err := emb.Embed(ctx, texts)
		if err != nil {
			return fmt.Errorf("memory: reembed: %w", err)
		}
		if err := checkVectors(vecs, len(texts), emb.Dim()); err != nil {
			return fmt.Errorf("memory: reembed: %s: %w", emb.Name(), err)
		}
		err = s.kv.Update(func(tx kvTx) error {
			for i, l := range labels[start:end] {
				id := s.entries[l].id
				if err := tx.Put(bucketStaging, id[:], encodeVector(vecs[i])); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("memory: reembed: %w", err)
		}
		if progress != nil {
			progress(end, total)
		}
	}
	idx, n, err := s.buildIndex(ctx, bucketStaging, emb.Dim())
	if err != nil {
		return fmt.Errorf("memory: reembed: %w", err)
	}
	if n < total {
		s.log.LogAttrs(ctx, slog.LevelWarn, "records without an embedding under the new embedder are kept but not searchable",
			slog.Int("count", total-n), slog.String("embedder", emb.Name()))
	}
	err = s.kv.Update(func(tx kvTx) error {
		err := tx.ForEach(bucketStaging, func(k, v []byte) error {
			return tx.Put(bucketVectors, k, v)
		})
		if err != nil {
			return err
		}
		if err := tx.ClearBucket(bucketStaging); err != nil {
			return err
		}
		if err := tx.Put(bucketMeta, keyEmbedder, []byte(emb.Name())); err != nil {
			return err
		}
		if err := tx.Put(bucketMeta, keyDim, binary.BigEndian.AppendUint64(nil, uint64(emb.Dim()))); err != nil {
			return err
		}
		if err := putU64(tx, keyIndexed, uint64(n)); err != nil {
			return err
		}
		return putU64(tx, keyGen, getU64(tx, keyGen)+1)
	})
	if err != nil {
		return fmt.Errorf("memory: reembed: %w", err)
	}
	s.emb, s.idx, s.mismatch, s.source, s.dirty = emb, idx, nil, "rebuilt", true
	s.log.LogAttrs(ctx, slog.LevelInfo, "memory re-embedded", slog.String("embedder", emb.Name()),
		slog.Int("records", total), slog.String("index", filepath.Join(s.dir, indexFile)))
	return s.flushLocked(ctx)
}
