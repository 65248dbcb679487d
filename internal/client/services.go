package client

import (
	"context"
	"net/url"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/kernel"
)

// RegisterService registers a process as a service (governed as
// service.register) and returns it.
func (c *Client) RegisterService(ctx context.Context, req apitype.ServiceRegisterRequest) (kernel.ServiceInfo, error) {
	var out kernel.ServiceInfo
	return out, c.do(ctx, http.MethodPost, "/v1/services", req, &out)
}

// UnregisterService removes a service (governed as service.unregister).
func (c *Client) UnregisterService(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/services/"+url.PathEscape(name), nil, nil)
}

// AgentStart starts a long-running agent from its definition: it
// registers the definition's services and, when the definition declares
// a restart policy, runs under its supervisor.
func (c *Client) AgentStart(ctx context.Context, req apitype.AgentStartRequest) (apitype.AgentStartResponse, error) {
	var out apitype.AgentStartResponse
	return out, c.do(ctx, http.MethodPost, "/v1/agent/start", req, &out)
}
