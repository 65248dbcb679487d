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

// MemorySearchRequest is the body of POST /v1/memory/search. The
// retrieval components (bm25, vector, neighbor, session, recency, graph) start
// from the store's default weights; Only keeps the named ones, Without
// switches the named ones off, and Weights sets individual weights (0 =
// off), in that order.
type MemorySearchRequest struct {
	Query   string             `json:"query"`
	K       int                `json:"k"`
	Filter  map[string]string  `json:"filter,omitempty"` // agent, session, source, tag, scope
	Only    []string           `json:"only,omitempty"`
	Without []string           `json:"without,omitempty"`
	Weights map[string]float64 `json:"weights,omitempty"`
	Fusion  string             `json:"fusion,omitempty"`  // "sum" (default) or "rrf"
	Explain bool               `json:"explain,omitempty"` // fill each hit's explain with the components' contributions
}

// MemoryHit is one search result (MemoryContribution: one component's
// part in its score); MemoryStats answers GET /v1/memory/stats.
type (
	MemoryHit          = memory.Hit
	MemoryContribution = memory.Contribution
	MemoryStats        = memory.Stats
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
