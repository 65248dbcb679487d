package memory

import (
	"slices"
	"sync"
)

// memKV is the in-process kv backend: the store on js/wasm and wasip1 (where
// bbolt does not build), and selectable in tests on every platform. Data
// lives only as long as the process: nothing is written to disk.
type memKV struct {
	mu      sync.RWMutex
	buckets map[string]map[string][]byte
}

func newMemKV() *memKV {
	m := &memKV{buckets: map[string]map[string][]byte{}}
	for _, b := range allBuckets {
		m.buckets[string(b)] = map[string][]byte{}
	}
	return m
}

// memTx reads through to the committed maps and buffers writes until commit.
type memTx struct {
	kv       *memKV
	writable bool
	pending  map[string]map[string][]byte // nil value = deleted
	cleared  map[string]bool
}

func (m *memKV) View(fn func(kvTx) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return fn(&memTx{kv: m})
}

func (m *memKV) Update(fn func(kvTx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := &memTx{kv: m, writable: true, pending: map[string]map[string][]byte{}, cleared: map[string]bool{}}
	if err := fn(tx); err != nil {
		return err
	}
	for b := range tx.cleared {
		m.buckets[b] = map[string][]byte{}
	}
	for b, kvs := range tx.pending {
		bk := m.buckets[b]
		for k, v := range kvs {
			if v == nil {
				delete(bk, k)
			} else {
				bk[k] = v
			}
		}
	}
	return nil
}

func (m *memKV) Close() error { return nil }

func (t *memTx) lookup(bucket, key string) ([]byte, bool) {
	if p, ok := t.pending[bucket]; ok {
		if v, ok := p[key]; ok {
			return v, v != nil
		}
	}
	if t.cleared[bucket] {
		return nil, false
	}
	v, ok := t.kv.buckets[bucket][key]
	return v, ok
}

func (t *memTx) Get(bucket, key []byte) []byte {
	v, _ := t.lookup(string(bucket), string(key))
	return v
}

func (t *memTx) set(bucket, key []byte, v []byte) error {
	if !t.writable {
		return errReadOnlyTx
	}
	if _, ok := t.kv.buckets[string(bucket)]; !ok {
		return errNoBucket
	}
	p := t.pending[string(bucket)]
	if p == nil {
		p = map[string][]byte{}
		t.pending[string(bucket)] = p
	}
	p[string(key)] = v
	return nil
}

func (t *memTx) Put(bucket, key, value []byte) error {
	return t.set(bucket, key, append([]byte{}, value...))
}

func (t *memTx) Delete(bucket, key []byte) error { return t.set(bucket, key, nil) }

func (t *memTx) keys(bucket string) []string {
	seen := map[string]bool{}
	var ks []string
	if !t.cleared[bucket] {
		for k := range t.kv.buckets[bucket] {
			seen[k] = true
			ks = append(ks, k)
		}
	}
	for k := range t.pending[bucket] {
		if !seen[k] {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

func (t *memTx) ForEach(bucket []byte, fn func(k, v []byte) error) error {
	for _, k := range t.keys(string(bucket)) {
		if v, ok := t.lookup(string(bucket), k); ok {
			if err := fn([]byte(k), v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *memTx) Count(bucket []byte) int {
	n := 0
	for _, k := range t.keys(string(bucket)) {
		if _, ok := t.lookup(string(bucket), k); ok {
			n++
		}
	}
	return n
}

func (t *memTx) ClearBucket(bucket []byte) error {
	if !t.writable {
		return errReadOnlyTx
	}
	t.cleared[string(bucket)] = true
	delete(t.pending, string(bucket))
	return nil
}
