//go:build !js && !wasip1

package memory

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// persistent reports whether the kv backend keeps data across Close.
const persistent = true

type boltKV struct{ db *bolt.DB }

type boltTx struct{ tx *bolt.Tx }

// openKV opens (creating) the bbolt database dir/memory.db. A database
// locked by another process fails after a short timeout instead of
// blocking forever.
func openKV(_ context.Context, dir string) (kv, error) {
	path := filepath.Join(dir, dbFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("memory: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("memory: init %s: %w", path, err)
	}
	return &boltKV{db: db}, nil
}

func (b *boltKV) View(fn func(kvTx) error) error {
	return b.db.View(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
}

func (b *boltKV) Update(fn func(kvTx) error) error {
	return b.db.Update(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
}

func (b *boltKV) Close() error { return b.db.Close() }

func (t boltTx) bucket(name []byte) (*bolt.Bucket, error) {
	bk := t.tx.Bucket(name)
	if bk == nil {
		return nil, fmt.Errorf("%w: bucket %q missing", ErrCorrupt, name)
	}
	return bk, nil
}

func (t boltTx) Get(bucket, key []byte) []byte {
	bk, err := t.bucket(bucket)
	if err != nil {
		return nil
	}
	return bk.Get(key)
}

func (t boltTx) Put(bucket, key, value []byte) error {
	bk, err := t.bucket(bucket)
	if err != nil {
		return err
	}
	return bk.Put(key, value)
}

func (t boltTx) Delete(bucket, key []byte) error {
	bk, err := t.bucket(bucket)
	if err != nil {
		return err
	}
	return bk.Delete(key)
}

func (t boltTx) ForEach(bucket []byte, fn func(k, v []byte) error) error {
	bk, err := t.bucket(bucket)
	if err != nil {
		return err
	}
	return bk.ForEach(fn)
}

func (t boltTx) Count(bucket []byte) int {
	bk, err := t.bucket(bucket)
	if err != nil {
		return 0
	}
	return bk.Stats().KeyN
}

func (t boltTx) ClearBucket(bucket []byte) error {
	if err := t.tx.DeleteBucket(bucket); err != nil && err != bolt.ErrBucketNotFound {
		return err
	}
	_, err := t.tx.CreateBucket(bucket)
	return err
}
