package client

import (
	"context"
	"net/url"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
)

// AppInstall installs the app package at path (absolute: a directory or
// .tar.gz) — a governed act that may wait for a human's approval.
func (c *Client) AppInstall(ctx context.Context, path string) (apitype.App, error) {
	var out apitype.App
	return out, c.do(ctx, http.MethodPost, "/v1/apps", apitype.AppInstallRequest{Path: path}, &out)
}

// AppUpgrade replaces installed app name with the package at path,
// atomically: on failure the previous version is put back.
func (c *Client) AppUpgrade(ctx context.Context, name, path string) (apitype.App, error) {
	var out apitype.App
	return out, c.do(ctx, http.MethodPost, "/v1/apps/"+url.PathEscape(name)+"/upgrade", apitype.AppInstallRequest{Path: path}, &out)
}

// Apps lists the installed apps.
func (c *Client) Apps(ctx context.Context) ([]apitype.App, error) {
	var out []apitype.App
	return out, c.do(ctx, http.MethodGet, "/v1/apps", nil, &out)
}

// App returns one installed app.
func (c *Client) App(ctx context.Context, name string) (apitype.App, error) {
	var out apitype.App
	return out, c.do(ctx, http.MethodGet, "/v1/apps/"+url.PathEscape(name), nil, &out)
}

// AppStart starts an app's services and cron jobs.
func (c *Client) AppStart(ctx context.Context, name string) (apitype.App, error) {
	var out apitype.App
	return out, c.do(ctx, http.MethodPost, "/v1/apps/"+url.PathEscape(name)+"/start", nil, &out)
}

// AppStop stops an app's services and cron jobs.
func (c *Client) AppStop(ctx context.Context, name string) (apitype.App, error) {
	var out apitype.App
	return out, c.do(ctx, http.MethodPost, "/v1/apps/"+url.PathEscape(name)+"/stop", nil, &out)
}

// AppRemove stops and removes an app (a governed act; the chain keeps
// its history).
func (c *Client) AppRemove(ctx context.Context, name string) (apitype.AppRemoveResponse, error) {
	var out apitype.AppRemoveResponse
	return out, c.do(ctx, http.MethodDelete, "/v1/apps/"+url.PathEscape(name), nil, &out)
}

// AppConfig returns an installed app's settings: each one's type, default
// and the value in effect (a secret's value is never returned).
func (c *Client) AppConfig(ctx context.Context, name string) (apitype.AppConfig, error) {
	var out apitype.AppConfig
	return out, c.do(ctx, http.MethodGet, "/v1/apps/"+url.PathEscape(name)+"/config", nil, &out)
}

// AppConfigure sets and unsets an app's settings — a governed act,
// app.configure, refused (and the refusal recorded) for an unknown key or
// a value not of the key's type.
func (c *Client) AppConfigure(ctx context.Context, name string, req apitype.AppConfigRequest) (apitype.AppConfig, error) {
	var out apitype.AppConfig
	return out, c.do(ctx, http.MethodPost, "/v1/apps/"+url.PathEscape(name)+"/config", req, &out)
}

// Publishers lists the publisher keys trusted to sign apps.
func (c *Client) Publishers(ctx context.Context) (apitype.PublisherList, error) {
	var out apitype.PublisherList
	return out, c.do(ctx, http.MethodGet, "/v1/publishers", nil, &out)
}

// TrustPublisher trusts a publisher key to sign apps — a governed act,
// app.trust (deferred for a human outside dev by the default
// constitution).
func (c *Client) TrustPublisher(ctx context.Context, req apitype.PublisherTrustRequest) (apitype.PublisherKey, error) {
	var out apitype.PublisherKey
	return out, c.do(ctx, http.MethodPost, "/v1/publishers", req, &out)
}

// DistrustPublisher stops trusting a publisher key (id: its name, the key,
// or a unique prefix of 8 or more hex digits) — a governed act,
// app.distrust. It returns the key removed.
func (c *Client) DistrustPublisher(ctx context.Context, id string) (apitype.PublisherKey, error) {
	var out apitype.PublisherKey
	return out, c.do(ctx, http.MethodDelete, "/v1/publishers/"+url.PathEscape(id), nil, &out)
}
