//go:build !nomemory

package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/embed"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/homedir"
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

// closeMemory closes the store.
// memoryStore is the node's semantic memory (an empty type with nomemory).
type memoryStore = memory.Store

func (d *Daemon) closeMemory(ctx context.Context) error {
	if d.memory == nil {
		return nil
	}
	if err := d.memory.Close(ctx); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	return nil
}

// memoryCode maps the memory's errors to API codes.
func memoryCode(err error) string {
	switch {
	case errors.Is(err, memory.ErrNotFound):
		return apitype.CodeNotFound
	case errors.Is(err, memory.ErrInvalidFilter), errors.Is(err, memory.ErrEmptyText), errors.Is(err, memory.ErrTooLarge),
		errors.Is(err, memory.ErrInvalidOptions):
		return apitype.CodeInvalidArgument
	case errors.Is(err, memory.ErrEmbedderMismatch):
		return apitype.CodeEmbedderMismatch
	}
	return ""
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
