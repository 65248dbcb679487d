package apitype

import "github.com/weftos/weftos/internal/memory"

// MemoryIngestRequest is the body of POST /v1/memory/ingest.
type MemoryIngestRequest struct {
	Paths []string `json:"paths"` // absolute files or folders
	Tags  []string `json:"tags,omitempty"`
}

// Memory ingest event types.
const (
	IngestProgress = "progress"
	IngestDone     = "done"
	IngestError    = "error"
)

// MemoryIngestEvent is one line of the ingest stream: progress, then done
// (or error).
type MemoryIngestEvent struct {
	Type     string                 `json:"type"`
	Progress *memory.IngestProgress `json:"progress,omitempty"`
	Result   *memory.IngestResult   `json:"result,omitempty"`
	Message  string                 `json:"message,omitempty"`
}

// MemorySearchRequest is the body of POST /v1/memory/search.
type MemorySearchRequest struct {
	Query  string            `json:"query"`
	K      int               `json:"k"`
	Filter map[string]string `json:"filter,omitempty"` // agent, session, source, tag, scope
}

// MemoryHit is one search result; MemoryStats answers GET /v1/memory/stats.
type (
	MemoryHit   = memory.Hit
	MemoryStats = memory.Stats
)

// MemoryRemoveResponse answers DELETE /v1/memory/{id}.
type MemoryRemoveResponse struct {
	Removed string `json:"removed"`
}

// MemoryReembedResponse answers POST /v1/memory/reembed.
type MemoryReembedResponse struct {
	Embedder string `json:"embedder"`
	Records  int    `json:"records"`
}
