package client

import (
	"context"
	"net/url"
	"strconv"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
)

// GovRules returns the constitution in force.
func (c *Client) GovRules(ctx context.Context) (apitype.RulesResponse, error) {
	var out apitype.RulesResponse
	return out, c.do(ctx, http.MethodGet, "/v1/gov/rules", nil, &out)
}

// GovCheck previews the gate's decision on a request, recording nothing.
func (c *Client) GovCheck(ctx context.Context, req apitype.CheckRequest) (apitype.Decision, error) {
	var out apitype.Decision
	return out, c.do(ctx, http.MethodPost, "/v1/gov/check", req, &out)
}

// GovEnv returns the governance environment and its threshold.
func (c *Client) GovEnv(ctx context.Context) (apitype.EnvResponse, error) {
	var out apitype.EnvResponse
	return out, c.do(ctx, http.MethodGet, "/v1/gov/env", nil, &out)
}

// GovSetEnv switches the environment (a governed act).
func (c *Client) GovSetEnv(ctx context.Context, env string) (apitype.EnvResponse, error) {
	var out apitype.EnvResponse
	return out, c.do(ctx, http.MethodPost, "/v1/gov/env", apitype.EnvRequest{Env: env}, &out)
}

// GovAmend adds or changes a rule (req.Text, a [[rule]] table).
func (c *Client) GovAmend(ctx context.Context, req apitype.AmendRequest) (apitype.AmendResponse, error) {
	var out apitype.AmendResponse
	return out, c.do(ctx, http.MethodPost, "/v1/gov/amend", req, &out)
}

// GovRetire retires the rule req.RuleID.
func (c *Client) GovRetire(ctx context.Context, req apitype.AmendRequest) (apitype.AmendResponse, error) {
	var out apitype.AmendResponse
	return out, c.do(ctx, http.MethodPost, "/v1/gov/retire", req, &out)
}

// GovPending lists the acts waiting for a human.
func (c *Client) GovPending(ctx context.Context) ([]apitype.PendingItem, error) {
	var out []apitype.PendingItem
	return out, c.do(ctx, http.MethodGet, "/v1/gov/pending", nil, &out)
}

// GovResolve approves (approve true) or rejects a pending act.
func (c *Client) GovResolve(ctx context.Context, id string, approve bool, req apitype.ResolveRequest) (apitype.ResolveResponse, error) {
	verdict := "reject"
	if approve {
		verdict = "approve"
	}
	var out apitype.ResolveResponse
	return out, c.do(ctx, http.MethodPost, "/v1/gov/pending/"+url.PathEscape(id)+"/"+verdict, req, &out)
}

// GovAudit audits the chain from event since on.
func (c *Client) GovAudit(ctx context.Context, since uint64) (*apitype.AuditReport, error) {
	var out apitype.AuditReport
	if err := c.do(ctx, http.MethodGet, "/v1/gov/audit?since="+strconv.FormatUint(since, 10), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
