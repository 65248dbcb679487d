// Package chain implements ExoChain, WeftOS's durable, dual-signed audit
// chain.
//
// Every event is linked to its predecessor by a SHAKE-256 hash, the events
// are the leaves of an RFC 6962 Merkle tree, and signed tree heads
// (checkpoints) are signed with both Ed25519 and ML-DSA-65. The byte-exact
// format is specified in docs/EXOCHAIN.md.
//
// The package is split into a pure protocol layer (hashing, Merkle trees,
// checkpoint text, proofs and verification: hash.go, event.go, merkle.go,
// checkpoint.go, keys.go, proof.go, verify.go, pipeline.go, export.go) and a
// storage layer (segment files, derived index files, group commit with
// pipelined fdatasyncs on preallocated segments, and crash recovery:
// record.go, table.go, store.go, integrity.go, read.go, readspan.go,
// log.go, commit.go, prealloc.go, reader.go).
//
// Writers use Open to get a *Log, which appends events with group commit and
// signs checkpoints in the background; Recorder puts an asynchronous queue in
// front of a Log. Offline tools use OpenReader. Third parties verify a store
// with Verify or an export with VerifyExport, and proofs with VerifyInclusion
// and VerifyConsistency.
package chain
