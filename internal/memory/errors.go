package memory

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrNotFound reports an unknown record ID.
	ErrNotFound = errors.New("memory: record not found")
	// ErrClosed reports a call on a closed store.
	ErrClosed = errors.New("memory: store closed")
	// ErrEmbedderMismatch reports a store whose vectors were made by
	// another embedder than the configured one; *EmbedderMismatchError
	// matches it.
	ErrEmbedderMismatch = errors.New("memory: embedder mismatch")
	// ErrNoAccess reports a search with ScopeNone.
	ErrNoAccess = errors.New("memory: no memory access")
	// ErrInvalidFilter reports an inconsistent Filter (e.g. a scope
	// without an agent).
	ErrInvalidFilter = errors.New("memory: invalid filter")
	// ErrInvalidOptions reports bad Options or arguments.
	ErrInvalidOptions = errors.New("memory: invalid options")
	// ErrEmptyText reports a Put of empty or whitespace-only text.
	ErrEmptyText = errors.New("memory: empty text")
	// ErrTooLarge reports a text above MaxTextBytes.
	ErrTooLarge = errors.New("memory: text too large")
	// ErrNoEmbedding reports a text the embedder maps to the zero vector
	// (for the lexical embedder: a text with no letters or digits), which
	// cannot be searched by cosine similarity.
	ErrNoEmbedding = errors.New("memory: text has no embedding")
	// ErrBadEmbedding reports an embedder that returned vectors of the
	// wrong count or dimension, or non-finite components.
	ErrBadEmbedding = errors.New("memory: embedder returned a bad vector")
	// ErrCorrupt reports a database that fails validation.
	ErrCorrupt = errors.New("memory: corrupt database")
)

// EmbedderMismatchError reports that the store was built with a different
// embedder (name and dimension, e.g. "lexical-v1/384") than the one
// configured. Searching it with the new embedder would compare
// incomparable vectors, so the store refuses until Reembed runs.
type EmbedderMismatchError struct {
	Stored     string
	Configured string
}

func (e *EmbedderMismatchError) Error() string {
	return fmt.Sprintf("memory: the store was embedded with %q but the configured embedder is %q; "+
		"run a re-embed (weave memory reembed) to rebuild it with the new embedder, "+
		"or configure %q again", e.Stored, e.Configured, e.Stored)
}

// Is matches ErrEmbedderMismatch.
func (e *EmbedderMismatchError) Is(target error) bool { return target == ErrEmbedderMismatch }
