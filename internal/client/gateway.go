package client

import (
	"context"
	"net/url"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
)

// GatewayTokenCreate creates a gateway bearer token (a governed act); the
// answer holds its secret, which is never shown again.
func (c *Client) GatewayTokenCreate(ctx context.Context, req apitype.GatewayTokenCreateRequest) (apitype.GatewayTokenCreated, error) {
	var out apitype.GatewayTokenCreated
	return out, c.do(ctx, http.MethodPost, "/v1/gateway/tokens", req, &out)
}

// GatewayTokens lists the gateway's tokens (never their secrets).
func (c *Client) GatewayTokens(ctx context.Context) (apitype.GatewayTokensResponse, error) {
	var out apitype.GatewayTokensResponse
	return out, c.do(ctx, http.MethodGet, "/v1/gateway/tokens", nil, &out)
}

// GatewayTokenRevoke revokes the token with id (a governed act).
func (c *Client) GatewayTokenRevoke(ctx context.Context, id string) (apitype.GatewayToken, error) {
	var out apitype.GatewayToken
	return out, c.do(ctx, http.MethodDelete, "/v1/gateway/tokens/"+url.PathEscape(id), nil, &out)
}

// Channels returns the gateway's and every chat channel's status.
func (c *Client) Channels(ctx context.Context) (apitype.ChannelsResponse, error) {
	var out apitype.ChannelsResponse
	return out, c.do(ctx, http.MethodGet, "/v1/channels", nil, &out)
}

// Pairing lists pending pairing requests and approved senders.
func (c *Client) Pairing(ctx context.Context) (apitype.PairingResponse, error) {
	var out apitype.PairingResponse
	return out, c.do(ctx, http.MethodGet, "/v1/pairing", nil, &out)
}

// PairingResolve approves (approve true) or denies the pending pairing
// request with code: a governed act.
func (c *Client) PairingResolve(ctx context.Context, code string, approve bool) (apitype.PairingResolveResponse, error) {
	verdict := "deny"
	if approve {
		verdict = "approve"
	}
	var out apitype.PairingResolveResponse
	return out, c.do(ctx, http.MethodPost, "/v1/pairing/"+url.PathEscape(code)+"/"+verdict, nil, &out)
}
