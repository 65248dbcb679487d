package daemon

import (
	"encoding/json"

	"github.com/weftos/weftos/internal/ecchost"
)

// ECC's Analyze mode and the rules that rebuild the graph from its
// records are internal/ecchost.

// applyAnalyzeRecord re-applies an ecc.analyze outcome to the graph
// (replay and indexing; idempotent).
func (d *Daemon) applyAnalyzeRecord(payload json.RawMessage) error {
	return ecchost.ApplyAnalyzeRecord(d.graph, payload, d.log)
}
