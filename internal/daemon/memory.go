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

	"github.com/weftos/weftos/internal/embed"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/memory"
)

// MemoryDir is the memory store's directory in the home.
const MemoryDir = "memory"

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
		AllowEmbedderMismatch: true})
	if err != nil {
		return fmt.Errorf("daemon: memory store: %w", err)
	}
	if st, err := d.memory.Stats(ctx); err == nil && st.IndexSource == "mismatch" {
		d.log.Warn("memory was built with another embedder; run `weave memory reembed`", "stored", st.Embedder, "configured", emb.Name())
	}
	return nil
}

// memoryStore stores text for an agent (or the operator): the chain event
// comes first, and the record carries its sequence number.
func (d *Daemon) memoryStore(ctx context.Context, text string, meta memory.Meta) (memory.Record, bool, error) {
	if strings.TrimSpace(text) == "" {
		return memory.Record{}, false, fmt.Errorf("%w: nothing to remember", kernel.ErrInvalid)
	}
	ev, err := d.chain.Append(ctx, "memory", "memory.store", map[string]any{"id": memory.ContentID(text), "agent": meta.Agent,
		"session": meta.Session, "source": meta.Source, "tags": meta.Tags, "shared": meta.Shared, "bytes": len(text)})
	if err != nil {
		return memory.Record{}, false, fmt.Errorf("recording the memory: %w", err)
	}
	return d.memory.Put(ctx, text, meta, ev.Seq)
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

// recall returns the texts of the k memories most relevant to query that
// the agent may see.
func (d *Daemon) recall(ctx context.Context, agent string, scope kernel.MemoryScope, query string, k int) []string {
	f, ok := memoryFilter(agent, scope)
	if !ok || k <= 0 {
		return nil
	}
	hits, err := d.memory.Search(ctx, query, k, f)
	if err != nil {
		d.log.Warn("memory recall", "agent", agent, "err", err)
		return nil
	}
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.Record.Text
	}
	return out
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
// outlives sessions).
func (d *Daemon) runMemoryTool(ctx context.Context, p *kernel.Process, agentName, session string, call llm.ToolCall) (string, bool) {
	caps := p.Capabilities()
	if caps.Memory == kernel.MemoryNone {
		return "memory is not available to this agent (memory scope none)", true
	}
	if err := p.ChargeToolCall(call.Name); err != nil {
		return "refused: " + err.Error(), true
	}
	dec := json.NewDecoder(strings.NewReader(string(call.Arguments)))
	dec.DisallowUnknownFields()
	switch call.Name {
	case "memory_store":
		var in struct {
			Text   string   `json:"text"`
			Tags   []string `json:"tags"`
			Shared bool     `json:"shared"`
		}
		if err := dec.Decode(&in); err != nil || strings.TrimSpace(in.Text) == "" {
			return "invalid input: want {\"text\": \"...\"}", true
		}
		rec, created, err := d.memoryStore(ctx, in.Text, memory.Meta{Agent: agentName, Session: session, Source: "agent", Tags: in.Tags, Shared: in.Shared})
		if err != nil {
			return err.Error(), true
		}
		b, _ := json.Marshal(map[string]any{"id": rec.ID, "stored": created, "chain_seq": rec.ChainSeq})
		return string(b), false
	default:
		var in struct {
			Query string `json:"query"`
			K     int    `json:"k"`
		}
		if err := dec.Decode(&in); err != nil || strings.TrimSpace(in.Query) == "" {
			return "invalid input: want {\"query\": \"...\"}", true
		}
		if in.K <= 0 || in.K > 20 {
			in.K = 5
		}
		f, _ := memoryFilter(agentName, caps.Memory)
		hits, err := d.memory.Search(ctx, in.Query, in.K, f)
		if err != nil {
			return err.Error(), true
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
		return string(b), false
	}
}

// MemoryIngestRequest is the body of POST /v1/memory/ingest.
type MemoryIngestRequest struct {
	Paths []string `json:"paths"`
	Tags  []string `json:"tags,omitempty"`
}

// MemoryIngestEvent is one line of the ingest stream: progress, then done.
type MemoryIngestEvent struct {
	Type     string                 `json:"type"` // progress, done, error
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

func (d *Daemon) memoryRoutes() []localapi.Route {
	return []localapi.Route{
		{Pattern: "POST /v1/memory/ingest", Handler: d.handleMemoryIngest},
		{Pattern: "POST /v1/memory/search", Handler: d.handleMemorySearch},
		{Pattern: "GET /v1/memory/stats", Handler: d.handleMemoryStats},
		{Pattern: "DELETE /v1/memory/{id}", Handler: d.handleMemoryRemove},
		{Pattern: "POST /v1/memory/reembed", Handler: d.handleMemoryReembed},
	}
}

func (d *Daemon) failMemory(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, memory.ErrEmbedderMismatch):
		localapi.WriteError(w, http.StatusConflict, "embedder_mismatch", err.Error())
	case errors.Is(err, memory.ErrNotFound):
		localapi.WriteError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, memory.ErrInvalidFilter), errors.Is(err, memory.ErrEmptyText), errors.Is(err, memory.ErrTooLarge):
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", err.Error())
	default:
		d.fail(w, err)
	}
}

// handleMemoryIngest ingests files and folders, streaming progress. The
// ingest is one chain event; every chunk carries its sequence number.
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
	ev, err := d.chain.Append(r.Context(), "memory", "memory.ingest", map[string]any{"paths": req.Paths, "agent": "operator", "tags": req.Tags})
	if err != nil {
		d.fail(w, err)
		return
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
	res, err := d.memory.Ingest(r.Context(), req.Paths, memory.IngestOptions{Meta: memory.Meta{Agent: "operator", Tags: req.Tags, Shared: true}, ChainSeq: ev.Seq},
		func(p memory.IngestProgress) { emit(MemoryIngestEvent{Type: "progress", Progress: &p}) })
	if err != nil {
		emit(MemoryIngestEvent{Type: "error", Message: err.Error()})
		return
	}
	_ = d.memory.Flush(r.Context())
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
				d.failMemory(w, err)
				return
			}
			f.Scope = s
		default:
			localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("unknown filter %q (want agent, session, source, tag or scope)", k))
			return
		}
	}
	hits, err := d.memory.Search(r.Context(), req.Query, req.K, f)
	if err != nil {
		d.failMemory(w, err)
		return
	}
	localapi.WriteJSON(w, hits)
}

func (d *Daemon) handleMemoryStats(w http.ResponseWriter, r *http.Request) {
	st, err := d.memory.Stats(r.Context())
	if err != nil {
		d.failMemory(w, err)
		return
	}
	localapi.WriteJSON(w, st)
}

func (d *Daemon) handleMemoryRemove(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := d.memory.Delete(r.Context(), id); err != nil {
		d.failMemory(w, err)
		return
	}
	if _, err := d.chain.Append(r.Context(), "memory", "memory.delete", map[string]string{"id": id, "agent": "operator"}); err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, map[string]string{"removed": id})
}

// handleMemoryReembed re-embeds every memory with the configured embedder.
func (d *Daemon) handleMemoryReembed(w http.ResponseWriter, r *http.Request) {
	emb, err := d.embedder()
	if err != nil {
		d.fail(w, err)
		return
	}
	done := 0
	if err := d.memory.Reembed(r.Context(), emb, func(n, _ int) { done = n }); err != nil {
		d.failMemory(w, err)
		return
	}
	if _, err := d.chain.Append(r.Context(), "memory", "memory.reembed", map[string]string{"embedder": emb.Name(), "records": strconv.Itoa(done)}); err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, map[string]any{"embedder": emb.Name(), "records": done})
}
