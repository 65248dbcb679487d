//go:build !nochannels && !nomcp && !nollm

package daemon

import (
	"context"
	"net/http"
	"slices"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/gateway"
	"github.com/weftos/weftos/internal/mcpserve"
)

// mcpBackend is the daemon as an MCP server's Backend, in-process: the
// gateway's /mcp sessions. Its sessions run with the capabilities of the
// token's agent, and ask_agent reaches only the token's agents.
type mcpBackend struct {
	d         *Daemon
	agent     string
	workspace string
	label     string
	reach     []string
}

var _ mcpserve.Backend = mcpBackend{}

func (b mcpBackend) Open(ctx context.Context) (apitype.MCPSession, error) {
	return b.d.mcp.Open(ctx, apitype.MCPSessionRequest{Agent: b.agent, Workspace: b.workspace, Label: b.label}, b.reach)
}

func (b mcpBackend) Call(ctx context.Context, session string, req apitype.MCPCallRequest) (apitype.MCPCallResult, error) {
	return b.d.mcp.Call(ctx, session, req)
}

func (b mcpBackend) End(ctx context.Context, session string) error {
	if !b.d.mcp.End(ctx, session) {
		return ErrUnknownMCPSession
	}
	return nil
}

// mcpHTTPHandler is the gateway's /mcp: the MCP streamable HTTP transport,
// each MCP session bound to the token that opened it (another token
// presenting its session id is refused) and served by a tool session with
// the capabilities of the token's agent — ?agent=NAME among the token's
// agents, else its only agent, else "default" when it reaches it.
//
// The SDK asks for the server on every request: one mcpserve.Server per
// token and agent is kept, its daemon tool session opened on first use.
func (d *Daemon) mcpHTTPHandler(workspace string) http.Handler {
	var (
		mu      sync.Mutex
		servers = map[string]*mcpserve.Server{}
	)
	h := mcp.NewStreamableHTTPHandler(func(r *http.Request) *mcp.Server {
		t, ok := gateway.TokenFrom(r.Context())
		if !ok {
			return nil
		}
		agent := r.URL.Query().Get("agent")
		switch {
		case agent != "":
		case len(t.Agents) == 1:
			agent = t.Agents[0]
		case slices.Contains(t.Agents, agentdef.DefaultName):
			agent = agentdef.DefaultName
		}
		if agent == "" || !t.Reaches(agent) {
			return nil
		}
		key := t.ID + "/" + agent
		mu.Lock()
		srv, ok := servers[key]
		mu.Unlock()
		if ok {
			return srv.MCP()
		}
		// Opening the tool session may wait (a workspace definition asking
		// for more than the default waits for its approval): unlocked.
		srv, err := mcpserve.New(r.Context(), mcpBackend{d: d, agent: agent, workspace: workspace, label: "gateway:" + t.ID, reach: t.Agents},
			mcpserve.Options{Version: d.opts.Version, Log: d.log.With("layer", "mcp")})
		if err != nil {
			d.log.Warn("gateway MCP session refused", "token", t.ID, "agent", agent, "err", err)
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if other, ok := servers[key]; ok {
			// Another request opened one meanwhile: keep that one.
			_ = srv.Close(context.WithoutCancel(r.Context()))
			return other.MCP()
		}
		servers[key] = srv
		return srv.MCP()
	}, &mcp.StreamableHTTPOptions{SessionTimeout: d.cfg.Agents.IdleTimeout.Duration, Logger: d.log.With("layer", "mcp")})
	// The gateway has authenticated the token already; the SDK's middleware
	// only hands it on, so that the SDK binds each MCP session to the token
	// that opened it.
	bind := auth.RequireBearerToken(func(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
		t, ok := gateway.TokenFrom(ctx)
		if !ok {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{UserID: t.ID, Scopes: t.Scopes}, nil
	}, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})
	return bind(h)
}
