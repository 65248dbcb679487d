package client

import (
	"context"
	"net/url"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
)

// ToolInstall installs the WASM tool package at path (absolute).
func (c *Client) ToolInstall(ctx context.Context, path string) (apitype.InstalledTool, error) {
	var out apitype.InstalledTool
	return out, c.do(ctx, http.MethodPost, "/v1/tools", apitype.ToolInstallRequest{Path: path}, &out)
}

// Tools lists the installed tools.
func (c *Client) Tools(ctx context.Context) ([]apitype.InstalledTool, error) {
	var out []apitype.InstalledTool
	return out, c.do(ctx, http.MethodGet, "/v1/tools", nil, &out)
}

// Tool returns one installed tool.
func (c *Client) Tool(ctx context.Context, name string) (apitype.InstalledTool, error) {
	var out apitype.InstalledTool
	return out, c.do(ctx, http.MethodGet, "/v1/tools/"+url.PathEscape(name), nil, &out)
}

// ToolRun runs an installed tool as the operator. A run that fails returns
// an *APIError whose Tool holds the tool's stderr.
func (c *Client) ToolRun(ctx context.Context, name string, req apitype.ToolRunRequest) (apitype.ToolRunResult, error) {
	var out apitype.ToolRunResult
	return out, c.do(ctx, http.MethodPost, "/v1/tools/"+url.PathEscape(name)+"/run", req, &out)
}

// ToolRemove uninstalls a tool (a governed act).
func (c *Client) ToolRemove(ctx context.Context, name string) (apitype.ToolRemoveResponse, error) {
	var out apitype.ToolRemoveResponse
	return out, c.do(ctx, http.MethodDelete, "/v1/tools/"+url.PathEscape(name), nil, &out)
}
