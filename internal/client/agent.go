package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
)

// AgentRun sends one request to a session's agent and calls fn with every
// event of the run's stream, in order, until the final answer or error.
func (c *Client) AgentRun(ctx context.Context, req apitype.RunRequest, fn func(apitype.RunEvent) error) error {
	return c.stream(ctx, http.MethodPost, "/v1/agent/run", req, func(line []byte) error {
		var ev apitype.RunEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return fmt.Errorf("client: bad event from the daemon: %w", err)
		}
		return fn(ev)
	})
}

// AgentTools lists the tools the agent definition agent ("" for the
// default) would be offered in workspace (absolute).
func (c *Client) AgentTools(ctx context.Context, workspace, agent string) ([]apitype.AgentTool, error) {
	q := url.Values{"workspace": {workspace}}
	if agent != "" {
		q.Set("agent", agent)
	}
	var out []apitype.AgentTool
	return out, c.do(ctx, http.MethodGet, "/v1/agent/tools?"+q.Encode(), nil, &out)
}

// Models lists the models of provider ("" for every provider); providers
// that fail are listed in the answer's problems.
func (c *Client) Models(ctx context.Context, provider string) (apitype.ModelsResponse, error) {
	path := "/v1/models"
	if provider != "" {
		path += "?provider=" + url.QueryEscape(provider)
	}
	var out apitype.ModelsResponse
	return out, c.do(ctx, http.MethodGet, path, nil, &out)
}

// Skills lists the skills visible from workspace (absolute; "" for the
// home's only).
func (c *Client) Skills(ctx context.Context, workspace string) (apitype.SkillsResponse, error) {
	path := "/v1/skills"
	if workspace != "" {
		path += "?workspace=" + url.QueryEscape(workspace)
	}
	var out apitype.SkillsResponse
	return out, c.do(ctx, http.MethodGet, path, nil, &out)
}

// Sessions lists the sessions.
func (c *Client) Sessions(ctx context.Context) (apitype.SessionsResponse, error) {
	var out apitype.SessionsResponse
	return out, c.do(ctx, http.MethodGet, "/v1/sessions", nil, &out)
}

// Session returns one session's snapshot.
func (c *Client) Session(ctx context.Context, name string) (apitype.SessionSnapshot, error) {
	var out apitype.SessionSnapshot
	return out, c.do(ctx, http.MethodGet, "/v1/sessions/"+url.PathEscape(name), nil, &out)
}

// SessionRemove deletes a session (a governed act).
func (c *Client) SessionRemove(ctx context.Context, name string) (apitype.SessionRemoveResponse, error) {
	var out apitype.SessionRemoveResponse
	return out, c.do(ctx, http.MethodDelete, "/v1/sessions/"+url.PathEscape(name), nil, &out)
}

// SessionJournal writes session name's journal, exactly as stored (one
// checksummed JSON record per line), to w.
func (c *Client) SessionJournal(ctx context.Context, name string, w io.Writer) error {
	resp, err := c.open(ctx, http.MethodGet, "/v1/sessions/"+url.PathEscape(name)+"/journal", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("client: session journal: %w", err)
	}
	return nil
}

// SessionFork starts session req.To as a copy of session name's first
// req.UpTo steps (0: all).
func (c *Client) SessionFork(ctx context.Context, name string, req apitype.SessionForkRequest) (apitype.SessionSummary, error) {
	var out apitype.SessionSummary
	return out, c.do(ctx, http.MethodPost, "/v1/sessions/"+url.PathEscape(name)+"/fork", req, &out)
}
