package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

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
