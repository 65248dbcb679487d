// Package memory is WeftOS's semantic memory store: texts with metadata,
// embedded by a pluggable Embedder, persisted in an embedded database and
// searchable through an HNSW index (internal/hnsw, cosine distance).
//
// A Record's ID is the hex BLAKE3-256 of its text, so storing the same text
// twice is a no-op that returns the existing record. Records carry
// metadata (agent, session, source, tags, time, shared) and the sequence
// number of the chain event that created them.
//
// Persistence: dir/memory.db (bbolt) holds the records, their vectors and
// the store metadata (embedder name and dimension, a generation counter
// bumped by every change); dir/memory.hnsw holds the index, written
// crash-safely on Close and Flush together with the generation it
// reflects. Open loads the index file and only rebuilds it from the stored
// vectors (never re-embedding) when it is missing, corrupt or older than
// the database. On js/wasm and wasip1, where bbolt does not build, the
// store keeps everything in process memory (nothing persists across Close).
//
// The embedder's name (e.g. "lexical-v1/384") is stored in the database;
// opening a store with another embedder fails with *EmbedderMismatchError
// (errors.Is ErrEmbedderMismatch) rather than silently mixing incomparable
// vectors. Options.AllowEmbedderMismatch opens it anyway for Reembed, which
// re-embeds every record with the new embedder and swaps the vectors and
// index atomically.
//
// Scopes: Search takes a Filter whose Scope says what an agent may see —
// ScopeOwn its own memories, ScopeShared its own plus every memory marked
// Shared, ScopeNone nothing (ErrNoAccess), and ScopeAll (the zero value,
// for the operator) everything. Filters are applied during the HNSW
// traversal, so a selective filter still returns k hits when they exist.
//
// Chunk splits documents on heading, paragraph and line boundaries, and
// Ingest walks files and folders, chunks and stores them, and records each
// fully ingested file (size, modification time, BLAKE3) so a re-run skips
// unchanged files.
package memory
