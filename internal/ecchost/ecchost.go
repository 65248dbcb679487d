// Package ecchost is ECC's Analyze mode on a node and the rules that
// rebuild the causal graph from the chain. A corpus (files, folders) or
// sessions (their transcripts) become memory records, entities and causal
// edges: each batch of a document's chunks (at most
// memory.IngestBatchSize) is one governed act, ecc.analyze — the records
// are stored carrying its decision's seq, the edges are added inside it,
// and its outcome names every record and entity. The edges are a function
// of that record (AnalysisEdges), so the graph is rebuilt from the chain
// exactly (ApplyAnalyzeRecord, ApplyEdgeRecord). What it needs of things
// the daemon owns (the authority pipeline, the memory store, the causal
// graph) it declares as small interfaces.
package ecchost

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/xref"
)

// Graph is the causal graph edges are added to (*causal.Store).
type Graph interface {
	Add(e causal.Edge) (added bool, stale []causal.ID, err error)
	HasEdge(from, to causal.ID, t causal.Type) bool
}

var _ Graph = (*causal.Store)(nil)

// AnalyzeLedger is the memory store's ledger of analysed files: a file
// already ingested into memory is still analysed once.
const AnalyzeLedger = "ecc.analyze"

// DocumentNode is a file's universal id: an entity, its content only (the
// BLAKE3-256 of its bytes), so a copy elsewhere is the same document.
func DocumentNode(blake3Hex string) (xref.Node, error) {
	id, err := xref.Entity("document", map[string]string{"blake3": blake3Hex})
	return xref.Node{ID: id, Type: "document", Key: "doc:" + blake3Hex}, err
}

// EntityNode is an entity's universal id (kind and key, content only).
func EntityNode(kindKey string) (xref.Node, error) {
	kind, key, _ := strings.Cut(kindKey, ":")
	id, err := xref.Entity("entity", map[string]string{"kind": kind, "key": key})
	return xref.Node{ID: id, Type: "entity", Key: "entity:" + key}, err
}

// AnalysisEdges are the edges an ecc.analyze record implies: every chunk
// part_of the document, every chunk follows the chunk before it (det.Prev
// for the first; a chunk equal to the one before is no edge), every chunk
// mentions its entities. Seq, valid and recorded times are the record's.
func AnalysisEdges(det governance.EccAnalyzeDetail) ([]causal.Edge, error) {
	doc, err := xref.ParseID(det.Document)
	if err != nil {
		return nil, err
	}
	ents := make([]causal.ID, len(det.Entities))
	for i, k := range det.Entities {
		n, err := EntityNode(k)
		if err != nil {
			return nil, err
		}
		ents[i] = causal.ID(n.ID)
	}
	edge := func(from, to causal.ID, t causal.Type) causal.Edge {
		return causal.Edge{From: from, To: to, Type: t, Weight: 1, Seq: det.DecisionSeq, ValidFrom: det.Recorded, Recorded: det.Recorded}
	}
	var out []causal.Edge
	var prev causal.ID
	if det.Prev != "" {
		n, err := xref.MemoryNode(det.Prev)
		if err != nil {
			return nil, err
		}
		prev = causal.ID(n.ID)
	}
	for i, c := range det.Chunks {
		if c == "" {
			continue // not stored
		}
		n, err := xref.MemoryNode(c)
		if err != nil {
			return nil, err
		}
		id := causal.ID(n.ID)
		out = append(out, edge(id, causal.ID(doc), causal.PartOf))
		if prev != (causal.ID{}) && prev != id {
			out = append(out, edge(id, prev, causal.Follows))
		}
		prev = id
		if i < len(det.Mentions) {
			for _, m := range det.Mentions[i] {
				if m < 0 || m >= len(ents) {
					return nil, fmt.Errorf("ecchost: ecc.analyze record: mention %d of %d entities", m, len(ents))
				}
				out = append(out, edge(id, ents[m], causal.Mentions))
			}
		}
	}
	return out, nil
}

// AddAnalysisEdges adds an analysis's edges to the graph; an edge the
// graph has is no change, and a follows edge that would close a cycle (a
// document repeating a chunk: "A, B, A") is refused and counted.
func AddAnalysisEdges(g Graph, edges []causal.Edge) (added, refused int, err error) {
	for _, e := range edges {
		ok, _, err := g.Add(e)
		switch {
		case errors.Is(err, causal.ErrCycle):
			refused++
		case err != nil:
			return added, refused, err
		case ok:
			added++
		}
	}
	return added, refused, nil
}

// ApplyAnalyzeRecord re-applies an ecc.analyze outcome (the payload of its
// chain event) to the graph (replay and indexing; idempotent). A record
// that names no valid edges is logged and skipped.
func ApplyAnalyzeRecord(g Graph, payload json.RawMessage, log *slog.Logger) error {
	var rec governance.ActRecord
	if err := json.Unmarshal(payload, &rec); err != nil {
		return err
	}
	var det governance.EccAnalyzeDetail
	if !rec.OK || json.Unmarshal(rec.Detail, &det) != nil {
		return nil
	}
	edges, err := AnalysisEdges(det)
	if err != nil {
		// Not a record this daemon writes (they are whole): there is
		// nothing to apply, and indexing must not stop on it.
		if log != nil {
			log.Warn("an ecc.analyze record names no valid edges; skipped", "err", err)
		}
		return nil
	}
	_, _, err = AddAnalysisEdges(g, edges)
	return err
}

// ApplyEdgeRecord applies an ecc.edge outcome (the payload of its chain
// event) to the graph (replay and indexing; idempotent).
func ApplyEdgeRecord(g Graph, payload json.RawMessage) error {
	var rec governance.ActRecord
	if err := json.Unmarshal(payload, &rec); err != nil {
		return err
	}
	var det governance.EccEdgeDetail
	if !rec.OK || json.Unmarshal(rec.Detail, &det) != nil || !det.Added {
		return nil
	}
	from, err1 := xref.ParseID(det.From)
	to, err2 := xref.ParseID(det.To)
	typ, err3 := causal.ParseType(det.Type)
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	_, _, err := g.Add(causal.Edge{From: causal.ID(from), To: causal.ID(to), Type: typ, Weight: det.Weight, Seq: det.DecisionSeq,
		ValidFrom: det.ValidFrom, ValidTo: det.ValidTo, Recorded: det.Recorded})
	return err
}
