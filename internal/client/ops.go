package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
)

// Logs returns the last n lines of the daemon's log.
func (c *Client) Logs(ctx context.Context, n int) (apitype.LogsResponse, error) {
	var out apitype.LogsResponse
	return out, c.do(ctx, http.MethodGet, "/v1/logs?n="+strconv.Itoa(n), nil, &out)
}

// FollowLogs calls fn with the last n lines of the daemon's log and then
// with every new line, until ctx ends (its error is returned), fn fails, or
// the daemon shuts down (nil).
func (c *Client) FollowLogs(ctx context.Context, n int, fn func(apitype.LogLine) error) error {
	return c.stream(ctx, http.MethodGet, "/v1/logs?follow=1&n="+strconv.Itoa(n), nil, func(line []byte) error {
		var l apitype.LogLine
		if err := json.Unmarshal(line, &l); err != nil {
			return fmt.Errorf("client: logs: %w", err)
		}
		return fn(l)
	})
}

// Doctor runs the daemon's checks of the node.
func (c *Client) Doctor(ctx context.Context) (apitype.DoctorReport, error) {
	var out apitype.DoctorReport
	return out, c.do(ctx, http.MethodGet, "/v1/doctor", nil, &out)
}

// UILogin mints a one-time login link for the control UI.
func (c *Client) UILogin(ctx context.Context) (apitype.UILoginResponse, error) {
	var out apitype.UILoginResponse
	return out, c.do(ctx, http.MethodPost, "/v1/ui/login", nil, &out)
}
