//go:build !nomemory

package ecchost

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/entity"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernelauth"
	"github.com/weftos/weftos/internal/memory"
	"github.com/weftos/weftos/internal/session"
	"github.com/weftos/weftos/internal/xref"
)

// Memory is the memory store analysed text is stored in (*memory.Store).
type Memory interface {
	Ingest(ctx context.Context, paths []string, opts memory.IngestOptions, progress func(memory.IngestProgress)) (memory.IngestResult, error)
	PutMany(ctx context.Context, items []memory.Item) ([]memory.PutResult, error)
	Flush(ctx context.Context) error
}

var _ Memory = (*memory.Store)(nil)

// Options configure an Analyzer; all are required.
type Options struct {
	Home   string // the node's home: session transcripts
	Auth   Authority
	Memory Memory
	Graph  Graph
	Clock  clock.Clock
}

// Analyzer runs Analyze mode.
type Analyzer struct{ opts Options }

// NewAnalyzer builds an analyzer.
func NewAnalyzer(opts Options) *Analyzer { return &Analyzer{opts: opts} }

// analysis is one analyze request's running totals.
type analysis struct {
	Options
	res      apitype.EccAnalyzeResult
	entities map[string]bool
	emit     func(apitype.EccAnalyzeEvent)
	prog     apitype.EccAnalyzeProgress
}

// Analyze analyses the files, folders and sessions of req (validated:
// absolute paths, session names), emitting progress, and makes the
// memory durable. Files already analysed with the same size and time (or
// content) are skipped, and sessions whose turns' edges are all in the
// graph, so a re-run — after an interruption too — only does what is
// missing. The result has no graph hash or size: the caller makes the
// graph durable and adds them.
func (an *Analyzer) Analyze(ctx context.Context, req apitype.EccAnalyzeRequest, emit func(apitype.EccAnalyzeEvent)) (apitype.EccAnalyzeResult, error) {
	a := &analysis{Options: an.opts, entities: map[string]bool{}, emit: emit}
	err := a.analyze(ctx, req)
	if err == nil {
		err = a.Memory.Flush(ctx)
	}
	a.res.Entities = len(a.entities)
	return a.res, err
}

// batch is one governed act: store a batch of a document's chunks (put,
// with the decision's seq), add the edges they imply, and record what was
// stored and added. prev is the content id of the chunk before the batch;
// it returns the last stored chunk's.
func (a *analysis) batch(ctx context.Context, doc xref.Node, source string, first int, prev string, texts []string,
	put memory.PutFunc) ([]memory.PutResult, string, error) {
	act := authority.Act{Action: "ecc.analyze", Kind: governance.KindEccAnalyze, Source: "ecc", Subject: kernelauth.Operator(),
		Context: governance.Context{Extra: map[string]string{"source": source, "document": doc.ID.String(), "first": strconv.Itoa(first)}}}
	var results []memory.PutResult
	last := prev
	err := a.Auth.Do(ctx, act, func(ctx context.Context, pm *authority.Permit) (any, error) {
		det := governance.EccAnalyzeDetail{Document: doc.ID.String(), Key: doc.Key, Source: source, First: first, Prev: prev,
			DecisionSeq: pm.DecisionSeq(), Recorded: a.Clock.Now().UnixNano()}
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
		edges, err := AnalysisEdges(det)
		if err != nil {
			return det, err
		}
		det.Edges = len(edges)
		det.Added, det.Refused, err = AddAnalysisEdges(a.Graph, edges)
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

func (a *analysis) progress() {
	p := a.prog
	a.emit(apitype.EccAnalyzeEvent{Type: apitype.AnalyzeProgress, Progress: &p})
}

func (a *analysis) analyze(ctx context.Context, req apitype.EccAnalyzeRequest) error {
	a.prog.DocsTotal = len(req.Sessions)
	if len(req.Paths) > 0 {
		var prev string // the last chunk of the current file
		meta := memory.Meta{Agent: "operator", Tags: req.Tags, Shared: true}
		store := func(ctx context.Context, b memory.IngestBatch, put memory.PutFunc) ([]memory.PutResult, error) {
			doc, err := DocumentNode(b.Hash)
			if err != nil {
				return nil, err
			}
			if b.First == 0 {
				prev = ""
			}
			a.prog.Document = b.Path
			res, last, err := a.batch(ctx, doc, b.Path, b.First, prev, b.Texts, put)
			prev = last
			a.prog.Edges = a.res.Edges
			a.prog.Chunks += len(b.Texts)
			a.progress()
			return res, err
		}
		docsBefore := a.prog.DocsTotal
		res, err := a.Memory.Ingest(ctx, req.Paths, memory.IngestOptions{Meta: meta, Ledger: AnalyzeLedger, Store: store},
			func(p memory.IngestProgress) {
				a.prog.DocsTotal = docsBefore + p.FilesTotal
				a.prog.DocsDone = p.FilesDone
				a.prog.Document = p.Path
				a.progress()
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
		if err := a.session(ctx, name, req.Tags); err != nil {
			return err
		}
		a.prog.DocsDone++
		a.progress()
	}
	return nil
}

// turn is one turn of a session transcript.
type turn struct {
	speaker, text string
	step          session.Step
}

// session analyses a session's transcript: every user message and final
// answer a turn (speaker user or assistant, the step's time), part_of the
// session.
func (a *analysis) session(ctx context.Context, name string, tags []string) error {
	a.res.Documents++
	a.prog.Document = "session:" + name
	snap, err := session.Read(a.Home, name)
	if err != nil {
		return fmt.Errorf("ecchost: analyze session %s: %w", name, err)
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
	doc, err := xref.SessionNode(name)
	if err != nil {
		return err
	}
	if a.sessionAnalysed(doc, turns) {
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
			return a.Memory.PutMany(ctx, items)
		}
		results, last, err := a.batch(ctx, doc, "session:"+name, start, prev, texts, put)
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
		a.progress()
	}
	a.res.Analyzed++
	return nil
}

// sessionAnalysed reports whether every turn of a session is already in
// the graph with its part_of edge (so a re-run records nothing new).
func (a *analysis) sessionAnalysed(doc xref.Node, turns []turn) bool {
	if len(turns) == 0 {
		return false
	}
	for _, t := range turns {
		n, err := xref.MemoryNode(memory.ContentID(t.text))
		if err != nil || !a.Graph.HasEdge(causal.ID(n.ID), causal.ID(doc.ID), causal.PartOf) {
			return false
		}
	}
	return true
}
