package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
)

// Xref returns what is linked to id (a universal id, a unique hex prefix
// or a key such as "seq:42" or "session:NAME"), to depth hops.
func (c *Client) Xref(ctx context.Context, id string, depth int) (apitype.XrefResponse, error) {
	var out apitype.XrefResponse
	v := url.Values{"depth": {strconv.Itoa(depth)}}
	return out, c.do(ctx, http.MethodGet, "/v1/xref/"+url.PathEscape(id)+"?"+v.Encode(), nil, &out)
}

// EccLink adds a causal edge (a governed act, ecc.link).
func (c *Client) EccLink(ctx context.Context, req apitype.EccEdgeRequest) (apitype.EccEdgeResponse, error) {
	var out apitype.EccEdgeResponse
	return out, c.do(ctx, http.MethodPost, "/v1/ecc/edges", req, &out)
}

func walkQuery(q apitype.EccWalkQuery) string {
	v := url.Values{}
	if q.Depth > 0 {
		v.Set("depth", strconv.Itoa(q.Depth))
	}
	if !q.Valid.IsZero() {
		v.Set("valid", q.Valid.Format(time.RFC3339Nano))
	}
	if !q.Recorded.IsZero() {
		v.Set("recorded", q.Recorded.Format(time.RFC3339Nano))
	}
	return v.Encode()
}

// EccWhy returns the evidence behind id: what it derives from, depends
// on, supersedes, and the evidence for it.
func (c *Client) EccWhy(ctx context.Context, id string, q apitype.EccWalkQuery) (apitype.EccWalkResponse, error) {
	var out apitype.EccWalkResponse
	return out, c.do(ctx, http.MethodGet, "/v1/ecc/why/"+url.PathEscape(id)+"?"+walkQuery(q), nil, &out)
}

// EccImpact returns what depends on id, with each node's staleness.
func (c *Client) EccImpact(ctx context.Context, id string, q apitype.EccWalkQuery) (apitype.EccWalkResponse, error) {
	var out apitype.EccWalkResponse
	return out, c.do(ctx, http.MethodGet, "/v1/ecc/impact/"+url.PathEscape(id)+"?"+walkQuery(q), nil, &out)
}

// EccStatus returns the cognitive layer's state: tick, impulse queue,
// graph, cross-references and working set.
func (c *Client) EccStatus(ctx context.Context) (apitype.EccStatus, error) {
	var out apitype.EccStatus
	return out, c.do(ctx, http.MethodGet, "/v1/ecc/status", nil, &out)
}

// EccAnalyze analyses files, folders and sessions into memory, entities
// and causal edges, calling progress (if not nil) as the daemon reports
// it, and returns the result.
func (c *Client) EccAnalyze(ctx context.Context, req apitype.EccAnalyzeRequest, progress func(apitype.EccAnalyzeProgress)) (apitype.EccAnalyzeResult, error) {
	var final *apitype.EccAnalyzeResult
	err := c.stream(ctx, http.MethodPost, "/v1/ecc/analyze", req, func(line []byte) error {
		var ev apitype.EccAnalyzeEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return fmt.Errorf("client: analyze event: %w", err)
		}
		switch ev.Type {
		case apitype.AnalyzeProgress:
			if progress != nil && ev.Progress != nil {
				progress(*ev.Progress)
			}
		case apitype.AnalyzeDone:
			final = ev.Result
		case apitype.AnalyzeError:
			return &APIError{Status: http.StatusOK, Code: apitype.CodeInternal, Message: ev.Message}
		}
		return nil
	})
	if err != nil {
		return apitype.EccAnalyzeResult{}, err
	}
	if final == nil {
		return apitype.EccAnalyzeResult{}, fmt.Errorf("client: the analyze stream ended without a result")
	}
	return *final, nil
}
