package apitype

import "time"

// XrefNode is one identified structure in the cross-reference index: its
// universal id (BLAKE3-256, hex), what it is, and its key ("seq:42",
// "session:s1", "pid:7", "memory:CONTENTID", "call:PID/CALLID",
// "action:ID").
type XrefNode struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Key  string `json:"key,omitempty"`
}

// XrefLink is one cross-reference: From → To, its relation, and the seq of
// the chain event that established it.
type XrefLink struct {
	From string `json:"from"`
	To   string `json:"to"`
	Rel  string `json:"rel"`
	Seq  uint64 `json:"seq"`
}

// XrefResponse answers GET /v1/xref/{id}?depth=N: the node asked for
// (first), every node within depth links of it, and those links. Through
// is the chain position indexed (events below it are covered).
type XrefResponse struct {
	Nodes     []XrefNode `json:"nodes"`
	Links     []XrefLink `json:"links"`
	Through   uint64     `json:"through"`
	Truncated bool       `json:"truncated,omitempty"`
}

// EccEdgeRequest asks POST /v1/ecc/edges to add a causal edge From → To.
// From and To are universal ids, keys or unique prefixes known to the
// cross-reference index, or new 64-hex-digit ids (a derived artifact's).
// Type is one of follows, part_of, mentions, supersedes, contradicts,
// derived_from, depends_on, evidence_for. ValidFrom/ValidTo bound when the
// relation holds (zero: from now, open-ended).
type EccEdgeRequest struct {
	From      string    `json:"from"`
	To        string    `json:"to"`
	Type      string    `json:"type"`
	Weight    float32   `json:"weight,omitempty"`
	ValidFrom time.Time `json:"valid_from,omitzero"`
	ValidTo   time.Time `json:"valid_to,omitzero"`
}

// EccEdgeResponse answers POST /v1/ecc/edges: whether the edge is new, the
// chain seq of the decision that recorded it, and the derived artifacts it
// made stale.
type EccEdgeResponse struct {
	Added bool     `json:"added"`
	Seq   uint64   `json:"seq"`
	Stale []string `json:"stale,omitempty"`
}

// EccNode is a graph node with what the cross-reference index knows of it
// and its truth-maintenance state.
type EccNode struct {
	ID         string `json:"id"`
	Type       string `json:"type,omitempty"`
	Key        string `json:"key,omitempty"`
	Stale      bool   `json:"stale,omitempty"`
	Superseded bool   `json:"superseded,omitempty"`
}

// EccStep is one edge of a why or impact walk and the node it reaches.
type EccStep struct {
	From      string    `json:"from"`
	To        string    `json:"to"`
	Type      string    `json:"type"`
	Weight    float32   `json:"weight"`
	Seq       uint64    `json:"seq"`
	ValidFrom time.Time `json:"valid_from,omitzero"`
	ValidTo   time.Time `json:"valid_to,omitzero"`
	Recorded  time.Time `json:"recorded,omitzero"`
	Depth     int       `json:"depth"`
	Node      EccNode   `json:"node"`
}

// EccWalkQuery selects a why or impact walk: depth hops, as of a valid
// time and a recorded time (zero: now).
type EccWalkQuery struct {
	Depth    int       `json:"depth"`
	Valid    time.Time `json:"valid,omitzero"`
	Recorded time.Time `json:"recorded,omitzero"`
}

// EccWalkResponse answers GET /v1/ecc/why/{id} and /v1/ecc/impact/{id}.
type EccWalkResponse struct {
	Root  EccNode   `json:"root"`
	Steps []EccStep `json:"steps"`
}

// EccQueue describes the impulse queue.
type EccQueue struct {
	Depth     int    `json:"depth"`
	Capacity  int    `json:"capacity"`
	Emitted   uint64 `json:"emitted"`
	Rehearsed uint64 `json:"rehearsed"`
	Expired   uint64 `json:"expired"`
	Evicted   uint64 `json:"evicted"`
	Processed uint64 `json:"processed"`
}

// EccGraph describes the causal graph.
type EccGraph struct {
	Nodes         int    `json:"nodes"`
	Edges         int    `json:"edges"`
	Stale         int    `json:"stale"`
	Refused       uint64 `json:"refused"`
	Invalidations uint64 `json:"invalidations"`
	// Hash is the graph's content hash (causal.Graph.Hash, hex): equal
	// edge sets, equal hashes, whatever the order or time they were
	// learnt.
	Hash string `json:"hash"`
}

// EccXref describes the cross-reference index.
type EccXref struct {
	Nodes   int    `json:"nodes"`
	Links   int    `json:"links"`
	Through uint64 `json:"through"`
}

// EccSalient is one entry of the working set: an impulse the tick worked
// through, with its activation then.
type EccSalient struct {
	Key        string    `json:"key"`
	Source     string    `json:"source"`
	Ref        string    `json:"ref,omitempty"`
	Activation float64   `json:"activation"`
	Count      int       `json:"count"`
	Seen       time.Time `json:"seen"`
}

// EccStatus answers GET /v1/ecc/status: the tick (interval, batch,
// budget and its use, calibration, wakes), the impulse queue, the graph,
// the cross-reference index, and the most salient entries of the working
// set.
type EccStatus struct {
	Interval       time.Duration `json:"interval"`
	Batch          int           `json:"batch"`
	Budget         time.Duration `json:"budget"`
	BudgetUse      float64       `json:"budget_use"`
	LastCompute    time.Duration `json:"last_compute"`
	ArrivalRate    float64       `json:"arrival_rate"`
	Ticks          uint64        `json:"ticks"`
	Wakes          uint64        `json:"wakes"`
	WakesPerSecond float64       `json:"wakes_per_second"`
	Overruns       uint64        `json:"overruns"`
	CalibrationP50 time.Duration `json:"calibration_p50"`
	CalibrationP95 time.Duration `json:"calibration_p95"`
	Queue          EccQueue      `json:"queue"`
	Graph          EccGraph      `json:"graph"`
	Xref           EccXref       `json:"xref"`
	Salient        []EccSalient  `json:"salient"`
}

// EccAnalyzeRequest is the body of POST /v1/ecc/analyze: files and folders
// (absolute paths) and sessions to analyse into memory records, entities
// and causal edges.
type EccAnalyzeRequest struct {
	Paths    []string `json:"paths,omitempty"`
	Sessions []string `json:"sessions,omitempty"`
	Tags     []string `json:"tags,omitempty"`
}

// EccAnalyzeProgress is reported after each batch and each document.
type EccAnalyzeProgress struct {
	Document  string `json:"document"` // the file or session:NAME being analysed
	DocsDone  int    `json:"docs_done"`
	DocsTotal int    `json:"docs_total"`
	Chunks    int    `json:"chunks"` // chunks stored so far
	Edges     int    `json:"edges"`  // edges implied so far
}

// EccAnalyzeResult summarises an analysis. GraphHash is the whole graph's
// content hash after it: analysing the same input again, or the same
// input in another home, gives the same hash.
type EccAnalyzeResult struct {
	Documents  int      `json:"documents"` // candidate files and sessions
	Analyzed   int      `json:"analyzed"`
	Unchanged  int      `json:"unchanged"` // already analysed with this content
	Skipped    int      `json:"skipped"`   // binary, too large, unreadable
	Chunks     int      `json:"chunks"`
	Created    int      `json:"created"` // new memory records
	Entities   int      `json:"entities"`
	Edges      int      `json:"edges"` // edges the analysed batches imply
	Added      int      `json:"added"` // of which new to the graph
	Refused    int      `json:"refused,omitempty"`
	Acts       int      `json:"acts"` // governed acts (one per batch)
	GraphNodes int      `json:"graph_nodes"`
	GraphEdges int      `json:"graph_edges"`
	GraphHash  string   `json:"graph_hash"`
	Notes      []string `json:"notes,omitempty"`
}

// Analyze stream event types.
const (
	AnalyzeProgress = "progress"
	AnalyzeDone     = "done"
	AnalyzeError    = "error"
)

// EccAnalyzeEvent is one line of the analyze stream: progress, then done
// (or error).
type EccAnalyzeEvent struct {
	Type     string              `json:"type"`
	Progress *EccAnalyzeProgress `json:"progress,omitempty"`
	Result   *EccAnalyzeResult   `json:"result,omitempty"`
	Message  string              `json:"message,omitempty"`
}
