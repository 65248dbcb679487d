package hnsw

import (
	"context"
	"fmt"
	"sync"
)

// Compact rebuilds the graph from the live vectors, dropping tombstones
// and their edges, with up to workers concurrent inserters (at least 1).
// Searches keep running on the old graph during the rebuild and switch to
// the new one atomically; inserts and deletes wait. Run it when Stats
// shows many Deleted nodes (say, above 10–20% of Nodes): tombstones cost
// memory and search time but do not make results wrong. If ctx is
// cancelled the old graph is kept and ctx's error returned.
func (x *Index) Compact(ctx context.Context, workers int) error {
	x.writeMu.Lock()
	defer x.writeMu.Unlock()

	x.growMu.RLock()
	cfg := x.cfg
	cfg.Capacity = x.live
	nx := newIndex(cfg)
	nx.resize(max(cfg.Capacity, 1))
	ids := make([]uint32, 0, x.live)
	for id := range x.count {
		if !x.isDeleted(uint32(id)) {
			ids = append(ids, uint32(id))
		}
	}
	err := x.rebuildInto(ctx, nx, ids, max(workers, 1))
	x.growMu.RUnlock()
	if err != nil {
		return err
	}

	x.growMu.Lock()
	defer x.growMu.Unlock()
	x.vecs, x.labels, x.levels = nx.vecs, nx.labels, nx.levels
	x.links0, x.upper, x.deleted = nx.links0, nx.upper, nx.deleted
	x.allocMu.Lock()
	x.count, x.capacity, x.byLabel, x.live = nx.count, nx.capacity, nx.byLabel, nx.live
	x.allocMu.Unlock()
	x.nDeleted.Store(0)
	x.ep.Store(nx.ep.Load())
	return nil
}

// rebuildInto inserts the given nodes of x into the private index nx.
// x.growMu is held shared by the caller.
func (x *Index) rebuildInto(ctx context.Context, nx *Index, ids []uint32, workers int) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		next int
		ferr error
	)
	const batch = 256
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if err := ctx.Err(); err != nil {
					mu.Lock()
					ferr = err
					mu.Unlock()
					return
				}
				mu.Lock()
				lo := next
				next = min(next+batch, len(ids))
				hi := next
				mu.Unlock()
				if lo >= hi {
					return
				}
				for _, id := range ids[lo:hi] {
					if err := nx.Insert(x.labels[id], x.vec(id)); err != nil {
						mu.Lock()
						ferr = fmt.Errorf("hnsw: compact: %w", err)
						mu.Unlock()
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	return ferr
}
