package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/xref"
)

// ECC's Analyze mode: a corpus (files, folders) or sessions (their
// transcripts) become memory records, entities and causal edges. Each
// batch of a document's chunks (at most memory.IngestBatchSize) is one
// governed act, ecc.analyze: the records are stored carrying its
// decision's seq, the edges are added inside it, and its outcome names
// every record and entity — the edges are a function of that record
// (analysisEdges), so the graph is rebuilt from the chain exactly.

// analyzeLedger is the memory store's ledger of analysed files: a file
// already ingested into memory is still analysed once.
const analyzeLedger = "ecc.analyze"

// documentNode is a file's universal id: an entity, its content only (the
// BLAKE3-256 of its bytes), so a copy elsewhere is the same document.
func documentNode(blake3Hex string) (xref.Node, error) {
	id, err := xref.Entity("document", map[string]string{"blake3": blake3Hex})
	return xref.Node{ID: id, Type: "document", Key: "doc:" + blake3Hex}, err
}

// entityNode is an entity's universal id (kind and key, content only).
func entityNode(kindKey string) (xref.Node, error) {
	kind, key, _ := strings.Cut(kindKey, ":")
	id, err := xref.Entity("entity", map[string]string{"kind": kind, "key": key})
	return xref.Node{ID: id, Type: "entity", Key: "entity:" + key}, err
}

// analysisEdges are the edges an ecc.analyze record implies: every chunk
// part_of the document, every chunk follows the chunk before it (det.Prev
// for the first; a chunk equal to the one before is no edge), every chunk
// mentions its entities. Seq, valid and recorded times are the record's.
func analysisEdges(det governance.EccAnalyzeDetail) ([]causal.Edge, error) {
	doc, err := xref.ParseID(det.Document)
	if err != nil {
		return nil, err
	}
	ents := make([]causal.ID, len(det.Entities))
	for i, k := range det.Entities {
		n, err := entityNode(k)
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
		n, err := memoryNode(det.Prev)
		if err != nil {
			return nil, err
		}
		prev = causal.ID(n.ID)
	}
	for i, c := range det.Chunks {
		if c == "" {
			continue // not stored
		}
		n, err := memoryNode(c)
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
					return nil, fmt.Errorf("daemon: ecc.analyze record: mention %d of %d entities", m, len(ents))
				}
				out = append(out, edge(id, ents[m], causal.Mentions))
			}
		}
	}
	return out, nil
}

// addAnalysisEdges adds an analysis's edges to the graph; an edge the
// graph has is no change, and a follows edge that would close a cycle (a
// document repeating a chunk: "A, B, A") is refused and counted.
func (d *Daemon) addAnalysisEdges(edges []causal.Edge) (added, refused int, err error) {
	for _, e := range edges {
		ok, _, err := d.graph.Add(e)
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

// applyAnalyzeRecord re-applies an ecc.analyze outcome to the graph
// (replay and indexing; idempotent).
func (d *Daemon) applyAnalyzeRecord(payload json.RawMessage) error {
	var rec governance.ActRecord
	if err := json.Unmarshal(payload, &rec); err != nil {
		return err
	}
	var det governance.EccAnalyzeDetail
	if !rec.OK || json.Unmarshal(rec.Detail, &det) != nil {
		return nil
	}
	edges, err := analysisEdges(det)
	if err != nil {
		// Not a record this daemon writes (they are whole): there is
		// nothing to apply, and indexing must not stop on it.
		d.log.Warn("an ecc.analyze record names no valid edges; skipped", "err", err)
		return nil
	}
	_, _, err = d.addAnalysisEdges(edges)
	return err
}
