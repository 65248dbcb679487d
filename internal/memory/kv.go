package memory

import "errors"

// kv is the small key-value store the memory store persists to: named
// buckets of byte keys and values, with serialisable read and read-write
// transactions. It is bbolt on native platforms (kv_bolt.go) and an
// in-process map on js/wasm and wasip1, where bbolt does not build
// (kv_mem.go).
type kv interface {
	// View runs fn in a read-only transaction.
	View(fn func(tx kvTx) error) error
	// Update runs fn in a read-write transaction, committed if fn returns
	// nil and rolled back otherwise.
	Update(fn func(tx kvTx) error) error
	Close() error
}

// kvTx is one transaction. Byte slices returned by Get and passed to
// ForEach are valid only during the transaction.
type kvTx interface {
	Get(bucket, key []byte) []byte
	Put(bucket, key, value []byte) error
	Delete(bucket, key []byte) error
	// ForEach calls fn for each key of bucket in byte order.
	ForEach(bucket []byte, fn func(k, v []byte) error) error
	// Count returns the number of keys in bucket.
	Count(bucket []byte) int
	// ClearBucket removes every key of bucket.
	ClearBucket(bucket []byte) error
}

var (
	errReadOnlyTx = errors.New("memory: write in a read-only transaction")
	errNoBucket   = errors.New("memory: no such bucket")
)

// Bucket names.
var (
	bucketMeta     = []byte("meta")     // store metadata (embedder, generation, …)
	bucketRecords  = []byte("records")  // id (32 bytes) → record JSON
	bucketVectors  = []byte("vectors")  // id → little-endian float32 vector
	bucketStaging  = []byte("staging")  // id → vector, during Reembed
	bucketIngested = []byte("ingested") // absolute path → ingested-file JSON
	allBuckets     = [][]byte{bucketMeta, bucketRecords, bucketVectors, bucketStaging, bucketIngested}
)
