package daemon

import (
	"encoding/json"

	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/ecchost"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/xref"
)

// ECC's Analyze mode and the rules that rebuild the graph from its
// records are internal/ecchost; the indexer names them through these.

func documentNode(blake3Hex string) (xref.Node, error) { return ecchost.DocumentNode(blake3Hex) }
func entityNode(kindKey string) (xref.Node, error)     { return ecchost.EntityNode(kindKey) }

func analysisEdges(det governance.EccAnalyzeDetail) ([]causal.Edge, error) {
	return ecchost.AnalysisEdges(det)
}

// applyAnalyzeRecord re-applies an ecc.analyze outcome to the graph
// (replay and indexing; idempotent).
func (d *Daemon) applyAnalyzeRecord(payload json.RawMessage) error {
	return ecchost.ApplyAnalyzeRecord(d.graph, payload, d.log)
}
