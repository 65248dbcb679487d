package daemon

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/entity"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/memory"
	"github.com/weftos/weftos/internal/session"
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

// analysis is one analyze request's running totals.
type analysis struct {
	res      apitype.EccAnalyzeResult
	entities map[string]bool
	emit     func(apitype.EccAnalyzeEvent)
	prog     apitype.EccAnalyzeProgress
}

// analyzeBatch is one governed act: store a batch of a document's chunks
// (put, with the decision's seq), add the edges they imply, and record
// what was stored and added. prev is the content id of the chunk before
// the batch; it returns the last stored chunk's.
func (d *Daemon) analyzeBatch(ctx context.Context, a *analysis, doc xref.Node, source string, first int, prev string, texts []string,
	put memory.PutFunc) ([]memory.PutResult, string, error) {
	act := authority.Act{Action: "ecc.analyze", Kind: governance.KindEccAnalyze, Source: "ecc", Subject: operator(),
		Context: governance.Context{Extra: map[string]string{"source": source, "document": doc.ID.String(), "first": strconv.Itoa(first)}}}
	var results []memory.PutResult
	last := prev
	err := d.auth.Do(ctx, act, func(ctx context.Context, pm *authority.Permit) (any, error) {
		det := governance.EccAnalyzeDetail{Document: doc.ID.String(), Key: doc.Key, Source: source, First: first, Prev: prev,
			DecisionSeq: pm.DecisionSeq(), Recorded: d.opts.Clock.Now().UnixNano()}
		var err error
		if results, err = put(ctx, pm.DecisionSeq()); err != nil {
			return det, err
		}
		index := map[string]int{}
		for i, r := range results {
			if r.Err != nil {
				det.Chunks, det.Mentions = append(det.Chunks, ""), append(det.Mentions, nil)
				continue
			}
			det.Chunks = append(det.Chunks, r.Record.ID)
			last = r.Record.ID
			if r.Created {
				det.Created++
			}
			var ms []int
			for _, e := range entity.Extract(texts[i]) {
				k := e.Kind + ":" + e.Key
				j, ok := index[k]
				if !ok {
					j = len(det.Entities)
					index[k] = j
					det.Entities = append(det.Entities, k)
				}
				ms = append(ms, j)
			}
			det.Mentions = append(det.Mentions, ms)
		}
		edges, err := analysisEdges(det)
		if err != nil {
			return det, err
		}
		det.Edges = len(edges)
		det.Added, det.Refused, err = d.addAnalysisEdges(edges)
		a.res.Acts++
		a.res.Edges += det.Edges
		a.res.Added += det.Added
		a.res.Refused += det.Refused
		a.res.Created += det.Created
		for _, k := range det.Entities {
			a.entities[k] = true
		}
		return det, err
	})
	return results, last, err
}

// Wire types of the analyze endpoint (internal/apitype).
type (
	EccAnalyzeRequest = apitype.EccAnalyzeRequest
	EccAnalyzeEvent   = apitype.EccAnalyzeEvent
)

// handleEccAnalyze analyses files, folders and sessions, streaming
// progress (NDJSON) and ending with the result and the graph's hash.
// Files already analysed with the same size and time (or content) are
// skipped, and sessions whose turns' edges are all in the graph, so a
// re-run — after an interruption too — only does what is missing.
func (d *Daemon) handleEccAnalyze(w http.ResponseWriter, r *http.Request) {
	var req EccAnalyzeRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	if len(req.Paths) == 0 && len(req.Sessions) == 0 {
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", "analyze needs a path or a session")
		return
	}
	for _, p := range req.Paths {
		if !filepath.IsAbs(p) {
			localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("path %q must be absolute", p))
			return
		}
	}
	for _, s := range req.Sessions {
		if !session.ValidName(s) {
			localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("%q is not a session name", s))
			return
		}
	}
	ctx := r.Context()
	if err := d.indexChain(ctx); err != nil {
		d.fail(w, err)
		return
	}
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	a := &analysis{entities: map[string]bool{}}
	a.emit = func(e apitype.EccAnalyzeEvent) {
		_ = enc.Encode(e)
		if fl != nil {
			fl.Flush()
		}
	}
	err := d.analyze(ctx, req, a)
	if err == nil {
		err = d.memory.Flush(ctx)
	}
	if err == nil {
		err = d.syncGraph(true)
	}
	if err != nil {
		a.emit(apitype.EccAnalyzeEvent{Type: apitype.AnalyzeError, Message: err.Error()})
		return
	}
	a.res.Entities = len(a.entities)
	h := d.graph.Hash()
	a.res.GraphHash = hex.EncodeToString(h[:])
	a.res.GraphNodes, a.res.GraphEdges = d.graph.Len()
	a.emit(apitype.EccAnalyzeEvent{Type: apitype.AnalyzeDone, Result: &a.res})
}

func (d *Daemon) analyzeProgress(a *analysis) {
	p := a.prog
	a.emit(apitype.EccAnalyzeEvent{Type: apitype.AnalyzeProgress, Progress: &p})
}

func (d *Daemon) analyze(ctx context.Context, req EccAnalyzeRequest, a *analysis) error {
	a.prog.DocsTotal = len(req.Sessions)
	if len(req.Paths) > 0 {
		var prev string // the last chunk of the current file
		meta := memory.Meta{Agent: "operator", Tags: req.Tags, Shared: true}
		store := func(ctx context.Context, b memory.IngestBatch, put memory.PutFunc) ([]memory.PutResult, error) {
			doc, err := documentNode(b.Hash)
			if err != nil {
				return nil, err
			}
			if b.First == 0 {
				prev = ""
			}
			a.prog.Document = b.Path
			res, last, err := d.analyzeBatch(ctx, a, doc, b.Path, b.First, prev, b.Texts, put)
			prev = last
			a.prog.Edges = a.res.Edges
			a.prog.Chunks += len(b.Texts)
			d.analyzeProgress(a)
			return res, err
		}
		docsBefore := a.prog.DocsTotal
		res, err := d.memory.Ingest(ctx, req.Paths, memory.IngestOptions{Meta: meta, Ledger: analyzeLedger, Store: store},
			func(p memory.IngestProgress) {
				a.prog.DocsTotal = docsBefore + p.FilesTotal
				a.prog.DocsDone = p.FilesDone
				a.prog.Document = p.Path
				d.analyzeProgress(a)
			})
		a.res.Documents += res.Files
		a.res.Analyzed += res.Ingested
		a.res.Unchanged += res.Unchanged
		a.res.Skipped += res.Skipped
		a.res.Chunks += res.Chunks
		a.res.Notes = append(a.res.Notes, res.Notes...)
		if err != nil {
			return err
		}
	}
	for _, name := range req.Sessions {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := d.analyzeSession(ctx, a, name, req.Tags); err != nil {
			return err
		}
		a.prog.DocsDone++
		d.analyzeProgress(a)
	}
	return nil
}

// turn is one turn of a session transcript.
type turn struct {
	speaker, text string
	step          session.Step
}

// analyzeSession analyses a session's transcript: every user message and
// final answer a turn (speaker user or assistant, the step's time),
// part_of the session.
func (d *Daemon) analyzeSession(ctx context.Context, a *analysis, name string, tags []string) error {
	a.res.Documents++
	a.prog.Document = "session:" + name
	snap, err := session.Read(d.home, name)
	if err != nil {
		return fmt.Errorf("daemon: analyze session %s: %w", name, err)
	}
	var turns []turn
	for _, s := range snap.Steps {
		speaker := ""
		switch s.Type {
		case session.TypeUserMessage:
			speaker = "user"
		case session.TypeFinalAnswer:
			speaker = "assistant"
		default:
			continue
		}
		var data struct {
			Content string `json:"content"`
		}
		if json.Unmarshal(s.Data, &data) != nil || strings.TrimSpace(data.Content) == "" {
			continue
		}
		turns = append(turns, turn{speaker: speaker, text: data.Content, step: s})
	}
	doc, err := sessionNode(name)
	if err != nil {
		return err
	}
	if d.sessionAnalysed(doc, turns) {
		a.res.Unchanged++
		return nil
	}
	prev := ""
	for start := 0; start < len(turns); start += memory.IngestBatchSize {
		batch := turns[start:min(start+memory.IngestBatchSize, len(turns))]
		texts := make([]string, len(batch))
		for i, t := range batch {
			texts[i] = t.text
		}
		put := func(ctx context.Context, seq uint64) ([]memory.PutResult, error) {
			items := make([]memory.Item, len(batch))
			for i, t := range batch {
				items[i] = memory.Item{Text: t.text, ChainSeq: seq, Meta: memory.Meta{Agent: "operator", Session: name, Source: "session:" + name,
					Speaker: t.speaker, Time: t.step.Time, Tags: tags, Shared: true}}
			}
			return d.memory.PutMany(ctx, items)
		}
		results, last, err := d.analyzeBatch(ctx, a, doc, "session:"+name, start, prev, texts, put)
		if err != nil {
			return err
		}
		prev = last
		for i, r := range results {
			if r.Err == nil {
				a.res.Chunks++
			} else {
				a.res.Notes = append(a.res.Notes, fmt.Sprintf("session:%s: turn %d: %v", name, start+i, r.Err))
			}
		}
		a.prog.Chunks += len(batch)
		a.prog.Edges = a.res.Edges
		d.analyzeProgress(a)
	}
	a.res.Analyzed++
	return nil
}

// sessionAnalysed reports whether every turn of a session is already in
// the graph with its part_of edge (so a re-run records nothing new).
func (d *Daemon) sessionAnalysed(doc xref.Node, turns []turn) bool {
	if len(turns) == 0 {
		return false
	}
	for _, t := range turns {
		n, err := memoryNode(memory.ContentID(t.text))
		if err != nil || !d.graph.HasEdge(causal.ID(n.ID), causal.ID(doc.ID), causal.PartOf) {
			return false
		}
	}
	return true
}
