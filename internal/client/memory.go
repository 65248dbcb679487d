package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
)

// MemoryIngest ingests files and folders, calling progress (if not nil)
// as the daemon reports it, and returns the final result.
func (c *Client) MemoryIngest(ctx context.Context, req apitype.MemoryIngestRequest, progress func(apitype.MemoryIngestEvent)) (apitype.MemoryIngestEvent, error) {
	var final *apitype.MemoryIngestEvent
	err := c.stream(ctx, http.MethodPost, "/v1/memory/ingest", req, func(line []byte) error {
		var ev apitype.MemoryIngestEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return fmt.Errorf("client: ingest event: %w", err)
		}
		switch ev.Type {
		case apitype.IngestProgress:
			if progress != nil {
				progress(ev)
			}
		case apitype.IngestDone:
			final = &ev
		case apitype.IngestError:
			return &APIError{Status: http.StatusOK, Code: apitype.CodeInternal, Message: ev.Message}
		}
		return nil
	})
	if err != nil {
		return apitype.MemoryIngestEvent{}, err
	}
	if final == nil {
		return apitype.MemoryIngestEvent{}, fmt.Errorf("client: the ingest stream ended without a result")
	}
	return *final, nil
}

// MemorySearch searches semantic memory.
func (c *Client) MemorySearch(ctx context.Context, req apitype.MemorySearchRequest) ([]apitype.MemoryHit, error) {
	var out []apitype.MemoryHit
	return out, c.do(ctx, http.MethodPost, "/v1/memory/search", req, &out)
}

// MemoryStats returns record, index and embedder statistics.
func (c *Client) MemoryStats(ctx context.Context) (apitype.MemoryStats, error) {
	var out apitype.MemoryStats
	return out, c.do(ctx, http.MethodGet, "/v1/memory/stats", nil, &out)
}

// MemoryRemove removes one record (a governed act).
func (c *Client) MemoryRemove(ctx context.Context, id string) (apitype.MemoryRemoveResponse, error) {
	var out apitype.MemoryRemoveResponse
	return out, c.do(ctx, http.MethodDelete, "/v1/memory/"+url.PathEscape(id), nil, &out)
}

// MemoryReembed re-embeds every record with the configured embedder.
func (c *Client) MemoryReembed(ctx context.Context) (apitype.MemoryReembedResponse, error) {
	var out apitype.MemoryReembedResponse
	return out, c.do(ctx, http.MethodPost, "/v1/memory/reembed", nil, &out)
}
