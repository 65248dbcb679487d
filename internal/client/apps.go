package client

import (
	"context"
	"net/http"
	"net/url"

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
