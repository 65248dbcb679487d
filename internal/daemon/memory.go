package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/embed"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/memory"
)

// MemoryDir is the memory store's directory in the home.
const MemoryDir = homedir.Memory

// embedder builds the configured embedder.
func (d *Daemon) embedder() (memory.Embedder, error) {
	mc := d.cfg.Memory
	cfg := embed.Config{BaseURL: mc.BaseURL, Model: mc.Model, Dim: mc.Dim, APIKeyEnv: mc.APIKeyEnv, APIKeyFile: mc.APIKeyFile,
		Logger: d.log.With("layer", "embed")}
	switch mc.Embedder {
	case "openai":
		return embed.NewOpenAI(cfg)
	case "ollama":
		return embed.NewOllama(cfg)
	default:
		return embed.NewLexical(mc.Dim)
	}
}

// openMemory opens the store. A store built with another embedder still
// opens: memory operations then fail with a message asking for
// `weave memory reembed`, rather than comparing incomparable vectors.
func (d *Daemon) openMemory(ctx context.Context) error {
	emb, err := d.embedder()
	if err != nil {
		return fmt.Errorf("daemon: memory embedder: %w", err)
	}
	d.memory, err = memory.Open(ctx, filepath.Join(d.home, MemoryDir), memory.Options{Embedder: emb, Logger: d.log.With("layer", "memory"),
		AllowEmbedderMismatch: true, Observer: d.ops})
	if err != nil {
		return fmt.Errorf("daemon: memory store: %w", err)
	}
	if st, err := d.memory.Stats(ctx); err == nil && st.IndexSource == "mismatch" {
		d.log.Warn("memory was built with another embedder; run `weave memory reembed`", "stored", st.Embedder, "configured", emb.Name())
	}
	return nil
}

// memoryFilter is the search filter a process's memory scope allows.
func memoryFilter(agent string, scope kernel.MemoryScope) (memory.Filter, bool) {
	switch scope {
	case kernel.MemoryNone:
		return memory.Filter{}, false
	case kernel.MemoryAll:
		return memory.Filter{Scope: memory.ScopeAll}, true
	case kernel.MemoryShared:
		return memory.Filter{Agent: agent, Scope: memory.ScopeShared}, true
	default:
		return memory.Filter{Agent: agent, Scope: memory.ScopeOwn}, true
	}
}

// memoryScopeCheck refuses memory acts to a process whose scope is none.
func memoryScopeCheck(p *kernel.Process) authority.Check {
	return func() error {
		if p.Capabilities().Memory == kernel.MemoryNone {
			return fmt.Errorf("%w: memory is not available to this agent (memory scope none)", authority.ErrCapability)
		}
		return nil
	}
}

// searchMemory is a memory search by an agent process: a privileged read
// (memory.search), decided and recorded like any act — whether the agent
// asked through memory_search or the daemon recalls for it (via "recall").
func (d *Daemon) searchMemory(ctx context.Context, p *kernel.Process, agentName, session, query string, k int, via, callID string, charge bool) ([]memory.Hit, error) {
	scope := p.Capabilities().Memory
	checks := []authority.Check{memoryScopeCheck(p)}
	if charge {
		checks = append(checks, func() error { return kernelErr(p.ChargeToolCall(memorySearchSpec.Name)) })
	}
	extra := map[string]string{"scope": string(scope), "via": via}
	if callID != "" {
		extra["call_id"] = callID
	}
	act := authority.Act{Action: "memory.search", Kind: governance.KindMemorySearch, Source: "memory", Subject: subjectOf(p, session),
		Context: governance.Context{Extra: extra}, Checks: checks, Carry: carryFrom(ctx),
		// An automatic recall only feeds the next model call, whose own
		// decision is written (with this one) before the prompt leaves.
		Internal: via == "recall"}
	pm, err := d.auth.Authorize(ctx, act)
	if err != nil {
		return nil, err
	}
	f, _ := memoryFilter(agentName, scope)
	hits, err := d.memory.Search(ctx, query, k, f)
	det := governance.MemoryDetail{QueryHash: shake([]byte(query)), K: k, Scope: string(scope)}
	for _, h := range hits {
		det.Hits = append(det.Hits, h.Record.ID)
	}
	// What was read goes only into the agent's next model call: its
	// record shares the fsync of that call's decision.
	if rerr := pm.Later(ctx, det, err); rerr != nil {
		return nil, errors.Join(err, rerr)
	}
	return hits, err
}

// recall returns the texts (and record ids) of the k memories most
// relevant to query that the agent may see. A refused or failed recall
// adds nothing (and is on the chain); the turn goes on.
func (d *Daemon) recall(ctx context.Context, p *kernel.Process, agentName, session, query string, k int) ([]string, []string) {
	if p.Capabilities().Memory == kernel.MemoryNone || k <= 0 {
		return nil, nil
	}
	hits, err := d.searchMemory(ctx, p, agentName, session, query, k, "recall", "", false)
	if err != nil {
		d.log.Warn("memory recall", "agent", agentName, "err", err)
		return nil, nil
	}
	out, ids := make([]string, len(hits)), make([]string, len(hits))
	for i, h := range hits {
		out[i], ids[i] = h.Record.Text, h.Record.ID
	}
	return out, ids
}

// Memory tools offered to agents whose memory scope is not none.
var (
	memoryStoreSpec = llm.ToolSpec{Name: "memory_store", Description: "Remember a fact for later sessions. Memories are searched by similarity and recalled automatically when relevant.",
		Parameters: json.RawMessage(`{"type":"object","properties":{"text":{"type":"string","minLength":1,"maxLength":20000,"description":"What to remember, self-contained."},"tags":{"type":"array","items":{"type":"string"},"description":"Optional labels."},"shared":{"type":"boolean","description":"Let other agents with shared memory see it."}},"required":["text"],"additionalProperties":false}`)}
	memorySearchSpec = llm.ToolSpec{Name: "memory_search", Description: "Search your memories by similarity to a query.",
		Parameters: json.RawMessage(`{"type":"object","properties":{"query":{"type":"string","minLength":1},"k":{"type":"integer","minimum":1,"maximum":20,"description":"How many results (default 5)."}},"required":["query"],"additionalProperties":false}`)}
)

// runMemoryTool serves memory_store and memory_search for an agent whose
// memories are filed under agentName (its definition's name, so memory
// outlives sessions). Both are acts through the authority pipeline.
func (d *Daemon) runMemoryTool(ctx context.Context, p *kernel.Process, agentName, session string, call llm.ToolCall) (out string, failure, fatal error) {
	subject := subjectOf(p, session)
	dec := json.NewDecoder(strings.NewReader(string(call.Arguments)))
	dec.DisallowUnknownFields()
	refuseInput := func(action, msg string) (string, error, error) {
		act := authority.Act{Action: action, Subject: subject, Context: governance.Context{Tool: call.Name}, Carry: carryFrom(ctx)}
		cause := fmt.Errorf("%w: %s", authority.ErrInput, msg)
		if err := d.auth.Refuse(ctx, act, cause); errors.Is(err, authority.ErrLedger) {
			return "", nil, err
		}
		return msg, cause, nil
	}
	switch call.Name {
	case memoryStoreSpec.Name:
		var in struct {
			Text   string   `json:"text"`
			Tags   []string `json:"tags"`
			Shared bool     `json:"shared"`
		}
		if err := dec.Decode(&in); err != nil || strings.TrimSpace(in.Text) == "" {
			return refuseInput("memory.store", `invalid input: want {"text": "..."}`)
		}
		var rec memory.Record
		var created bool
		err := d.auth.Do(ctx, authority.Act{Action: "memory.store", Kind: governance.KindMemoryStore, Source: "memory", Subject: subject,
			Context: governance.Context{Tool: call.Name, Extra: map[string]string{"shared": fmt.Sprint(in.Shared), "call_id": call.ID}}, Carry: carryFrom(ctx),
			Checks: []authority.Check{memoryScopeCheck(p), func() error { return kernelErr(p.ChargeToolCall(call.Name)) }}},
			func(ctx context.Context, pm *authority.Permit) (any, error) {
				det := governance.MemoryDetail{ID: memory.ContentID(in.Text), Bytes: len(in.Text), Tags: in.Tags, Shared: in.Shared}
				var err error
				// The record carries the seq of the decision that allowed
				// it; the outcome event (same action id) names the record.
				rec, created, err = d.memory.Put(ctx, in.Text, memory.Meta{Agent: agentName, Session: session, Source: "agent", Tags: in.Tags, Shared: in.Shared},
					pm.DecisionSeq())
				det.Created = created
				return det, err
			})
		if err != nil {
			return refusal(ctx, err)
		}
		b, _ := json.Marshal(map[string]any{"id": rec.ID, "stored": created, "chain_seq": rec.ChainSeq})
		return string(b), nil, nil
	default:
		var in struct {
			Query string `json:"query"`
			K     int    `json:"k"`
		}
		if err := dec.Decode(&in); err != nil || strings.TrimSpace(in.Query) == "" {
			return refuseInput("memory.search", `invalid input: want {"query": "..."}`)
		}
		if in.K <= 0 || in.K > 20 {
			in.K = 5
		}
		hits, err := d.searchMemory(ctx, p, agentName, session, in.Query, in.K, "tool", call.ID, true)
		if err != nil {
			return refusal(ctx, err)
		}
		type hit struct {
			Text  string  `json:"text"`
			Score float32 `json:"score"`
		}
		out := make([]hit, len(hits))
		for i, h := range hits {
			out[i] = hit{h.Record.Text, h.Score}
		}
		b, _ := json.Marshal(out)
		return string(b), nil, nil
	}
}

// Wire types of the memory endpoints (internal/apitype).
type (
	MemoryIngestRequest = apitype.MemoryIngestRequest
	MemoryIngestEvent   = apitype.MemoryIngestEvent
	MemorySearchRequest = apitype.MemorySearchRequest
)

func (d *Daemon) memoryRoutes() []localapi.Route {
	return []localapi.Route{
		{Pattern: "POST /v1/memory/ingest", Handler: d.handleMemoryIngest},
		{Pattern: "POST /v1/memory/search", Handler: d.handleMemorySearch},
		{Pattern: "GET /v1/memory/stats", Handler: d.handleMemoryStats},
		{Pattern: "DELETE /v1/memory/{id}", Handler: d.handleMemoryRemove},
		{Pattern: "POST /v1/memory/reembed", Handler: d.handleMemoryReembed},
	}
}

// handleMemoryIngest ingests files and folders, streaming progress. Each
// batch of a file's chunks (at most memory.IngestBatchSize) is a governed
// act (memory.ingest): its chunks carry the seq of its decision, and its
// outcome names the file (its BLAKE3) and every record the chunks became,
// so each chunk is cross-referenced to its document and to the chain
// event that stored it (`weave xref memory:ID`).
func (d *Daemon) handleMemoryIngest(w http.ResponseWriter, r *http.Request) {
	var req MemoryIngestRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	if len(req.Paths) == 0 {
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", "ingest needs at least one path")
		return
	}
	for _, p := range req.Paths {
		if !filepath.IsAbs(p) {
			localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("path %q must be absolute", p))
			return
		}
	}
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	emit := func(e MemoryIngestEvent) {
		_ = enc.Encode(e)
		if fl != nil {
			fl.Flush()
		}
	}
	store := func(ctx context.Context, b memory.IngestBatch, put memory.PutFunc) ([]memory.PutResult, error) {
		var results []memory.PutResult
		act := authority.Act{Action: "memory.ingest", Kind: governance.KindMemoryIngest, Source: "memory", Subject: operator(),
			Context: governance.Context{Extra: map[string]string{"paths": b.Path, "first": strconv.Itoa(b.First)}}}
		err := d.auth.Do(ctx, act, func(ctx context.Context, pm *authority.Permit) (any, error) {
			det := governance.MemoryDetail{Paths: []string{b.Path}, Tags: req.Tags, Document: b.Hash, Source: b.Path, First: b.First, Files: 1}
			var err error
			results, err = put(ctx, pm.DecisionSeq())
			for _, res := range results {
				id := ""
				if res.Err == nil {
					id = res.Record.ID
					det.Chunks++
				}
				det.ChunkIDs = append(det.ChunkIDs, id)
			}
			return det, err
		})
		return results, err
	}
	res, err := d.memory.Ingest(r.Context(), req.Paths, memory.IngestOptions{Meta: memory.Meta{Agent: "operator", Tags: req.Tags, Shared: true},
		Store: store}, func(p memory.IngestProgress) { emit(MemoryIngestEvent{Type: "progress", Progress: &p}) })
	if err == nil {
		err = d.memory.Flush(r.Context())
	}
	if err != nil {
		emit(MemoryIngestEvent{Type: "error", Message: err.Error()})
		return
	}
	emit(MemoryIngestEvent{Type: "done", Result: &res})
}

func (d *Daemon) handleMemorySearch(w http.ResponseWriter, r *http.Request) {
	var req MemorySearchRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	if req.K <= 0 {
		req.K = 10
	}
	f := memory.Filter{Scope: memory.ScopeAll}
	for k, v := range req.Filter {
		switch k {
		case "agent":
			f.Agent = v
		case "session":
			f.Session = v
		case "source":
			f.Source = v
		case "tag":
			f.Tags = append(f.Tags, v)
		case "scope":
			s, err := memory.ParseScope(v)
			if err != nil {
				d.fail(w, err)
				return
			}
			f.Scope = s
		default:
			localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("unknown filter %q (want agent, session, source, tag or scope)", k))
			return
		}
	}
	opts, err := memorySearchOptions(d.memory.Embedder(), req)
	if err != nil {
		d.fail(w, err)
		return
	}
	hits, err := d.memory.SearchWith(r.Context(), req.Query, req.K, f, opts)
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, hits)
}

func (d *Daemon) handleMemoryStats(w http.ResponseWriter, r *http.Request) {
	st, err := d.memory.Stats(r.Context())
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, st)
}

func (d *Daemon) handleMemoryRemove(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := d.auth.Do(r.Context(), authority.Act{Action: "memory.delete", Kind: governance.KindMemoryDelete, Source: "memory", Subject: operator(),
		Context: governance.Context{Extra: map[string]string{"id": id}}},
		func(ctx context.Context, _ *authority.Permit) (any, error) {
			return governance.MemoryDetail{ID: id}, d.memory.Delete(ctx, id)
		})
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, apitype.MemoryRemoveResponse{Removed: id})
}

// handleMemoryReembed re-embeds every memory with the configured embedder.
func (d *Daemon) handleMemoryReembed(w http.ResponseWriter, r *http.Request) {
	emb, err := d.embedder()
	if err != nil {
		d.fail(w, err)
		return
	}
	done := 0
	err = d.auth.Do(r.Context(), authority.Act{Action: "memory.reembed", Kind: governance.KindMemoryReembed, Source: "memory", Subject: operator(),
		Context: governance.Context{Extra: map[string]string{"embedder": emb.Name()}}},
		func(ctx context.Context, _ *authority.Permit) (any, error) {
			err := d.memory.Reembed(ctx, emb, func(n, _ int) { done = n })
			return governance.MemoryDetail{Embedder: emb.Name(), Records: done}, err
		})
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, apitype.MemoryReembedResponse{Embedder: emb.Name(), Records: done})
}

// memorySearchOptions turns the request's component choices into search
// options, starting from the store's default weights.
func memorySearchOptions(emb memory.Embedder, req MemorySearchRequest) (memory.SearchOptions, error) {
	opts := memory.SearchOptions{Explain: req.Explain, Fusion: req.Fusion}
	switch req.Fusion {
	case "", memory.FusionSum, memory.FusionRRF:
	default:
		return opts, fmt.Errorf("%w: unknown fusion %q (sum, rrf)", memory.ErrInvalidOptions, req.Fusion)
	}
	if len(req.Only) == 0 && len(req.Without) == 0 && len(req.Weights) == 0 {
		return opts, nil
	}
	w := memory.DefaultWeightsFor(emb)
	var err error
	if len(req.Only) > 0 {
		if w, err = w.Only(req.Only...); err != nil {
			return opts, err
		}
	}
	if w, err = w.Without(req.Without...); err != nil {
		return opts, err
	}
	for c, v := range req.Weights {
		if w, err = w.With(c, v); err != nil {
			return opts, err
		}
	}
	opts.Weights = &w
	return opts, nil
}
