//go:build !nochannels && !nollm

package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apikey"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/channels"
	"github.com/weftos/weftos/internal/gateway"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/metrics"
)

// gatewayDir holds the gateway's files in the home: tokens.json (hashes)
// and pairing.json (allowlists and pending codes).
const gatewayDir = "gateway"

// gatewayParts is the gateway and the chat channels, as the daemon wires
// them: the logic lives in internal/gateway and internal/channels.
type gatewayParts struct {
	tokens  *gateway.Tokens
	pairing *channels.Pairing
	hub     *channels.Hub
	server  *gateway.Server
	http    *http.Server
	addr    string
	tls     bool
	sup     *channels.Supervisor
	stop    context.CancelFunc // ends the channels
	// handlers are the chat platforms' callback endpoints on the gateway.
	handlers map[string]http.Handler
}

// runner is the daemon as the channels' Runner: an agent turn as POST
// /v1/agent/run runs it.
type runner struct{ d *Daemon }

func (r runner) Run(ctx context.Context, req apitype.RunRequest, emit func(apitype.RunEvent) error) error {
	return r.d.runAgent(ctx, req, emit)
}

// openGateway opens the token and pairing stores, and starts the gateway's
// HTTP server (when [gateway] listen is set) and the chat channels.
func (d *Daemon) openGateway() error {
	dir := filepath.Join(d.home, gatewayDir)
	g := &d.gw
	var err error
	if g.tokens, err = gateway.OpenTokens(filepath.Join(dir, "tokens.json")); err != nil {
		return err
	}
	if g.pairing, err = channels.OpenPairing(filepath.Join(dir, "pairing.json")); err != nil {
		return err
	}
	ws := d.cfg.Gateway.Workspace
	if ws == "" {
		ws = d.cfg.Agents.Workspace
	}
	if ws == "" {
		// Beside the home, not in it: agents' tools may not touch the home.
		ws = d.home + "-workspace"
	}
	if d.cfg.Gateway.Listen != "" || len(d.cfg.Channels) > 0 {
		if err := os.MkdirAll(ws, 0o700); err != nil {
			return fmt.Errorf("daemon: gateway workspace: %w", err)
		}
	}
	glog := d.log.With("layer", "gateway")
	g.hub = &channels.Hub{Auth: d.auth, Runner: runner{d}, Workspace: ws}
	gc := d.cfg.Gateway
	perSender := channels.NewLimiter(gc.SenderRatePerMinute, gc.Burst)
	disp := &channels.Dispatcher{Hub: g.hub, Pairing: g.pairing, Router: channels.NewRouter(d.cfg.Routes, d.cfg.Channels),
		Channels: d.cfg.Channels, Senders: perSender, Clock: d.opts.Clock, Log: glog}
	g.sup = channels.NewSupervisor(d.opts.Clock, disp)
	d.registerGatewayMetrics()
	if err := d.startChannels(); err != nil {
		return err
	}
	if gc.Listen == "" {
		return nil
	}
	var hooks []gateway.Hook
	for _, h := range gc.Hooks {
		secret, err := apikey.Load(os.Getenv, h.SecretEnv, h.SecretFile)
		if err != nil {
			return fmt.Errorf("daemon: gateway hook %s: %w", h.Name, err)
		}
		if secret == "" {
			glog.Warn("webhook has no secret (its variable is empty): it refuses every call", "hook", h.Name)
			continue
		}
		hooks = append(hooks, gateway.Hook{Name: h.Name, Agent: h.Agent, Secret: []byte(secret), Window: h.Window.Duration})
	}
	g.server = gateway.New(gateway.Options{Tokens: g.tokens, Hub: g.hub, Agents: d.agentNames,
		PerToken: channels.NewLimiter(gc.RatePerMinute, gc.Burst), PerSender: perSender, AllowedOrigins: gc.AllowedOrigins,
		KeepAlive: gc.KeepAlive.Duration, Hooks: hooks, Code: d.codeOf, Clock: d.opts.Clock, Log: glog, Created: d.started,
		Handlers: g.handlers, MCP: d.mcpHTTPHandler(ws)})
	ln, err := net.Listen("tcp", gc.Listen)
	if err != nil {
		return fmt.Errorf("daemon: gateway listener %s: %w", gc.Listen, err)
	}
	if gc.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(gc.TLSCert, gc.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("daemon: gateway TLS: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		g.tls = true
	}
	g.addr = ln.Addr().String()
	g.http = &http.Server{Handler: g.server, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(glog.Handler(), slog.LevelWarn)}
	d.wg.Go(func() {
		if err := g.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			glog.Error("gateway stopped", "err", err)
		}
	})
	glog.Info("serving the gateway", "addr", g.addr, "tls", g.tls)
	return nil
}

// registerGatewayMetrics exposes the channels' counters and the active
// gateway tokens at /metrics.
func (d *Daemon) registerGatewayMetrics() {
	g := &d.gw
	must := func(err error) {
		if err != nil {
			d.log.Error("metric registration", "err", err)
		}
	}
	must(d.metrics.Register("weftos_channel_messages_total", "Chat channel messages by channel and outcome (received, answered, refused).",
		metrics.Counter, func() []metrics.Sample {
			var out []metrics.Sample
			for _, st := range g.sup.Status() {
				for _, o := range []struct {
					name string
					n    uint64
				}{{"received", st.Received}, {"answered", st.Answered}, {"refused", st.Refused}} {
					out = append(out, metrics.Sample{Labels: map[string]string{"channel": st.Name, "outcome": o.name}, Value: float64(o.n)})
				}
			}
			return out
		}))
	must(d.metrics.Value("weftos_gateway_tokens", "Active (unrevoked) gateway tokens.", metrics.Gauge, func() float64 {
		n := 0
		for _, t := range g.tokens.List() {
			if t.Revoked == nil {
				n++
			}
		}
		return float64(n)
	}))
}

// closeGateway stops the gateway (its streams end) and the channels.
func (d *Daemon) closeGateway(ctx context.Context) error {
	g := &d.gw
	var err error
	if g.http != nil {
		g.server.Cancel() // streams, WebSocket sessions and webhook runs end
		if err = g.http.Shutdown(ctx); err != nil {
			_ = g.http.Close()
			err = fmt.Errorf("gateway: %w", err)
		}
		g.server.Close()
	}
	if g.stop != nil {
		g.stop()
		g.sup.Wait()
	}
	return err
}

// agentNames lists the agents the home defines, and the default.
func (d *Daemon) agentNames() []string {
	defs, _ := agentdef.List(d.home)
	names := []string{agentdef.DefaultName}
	for _, def := range defs {
		if !slices.Contains(names, def.Name) {
			names = append(names, def.Name)
		}
	}
	return names
}

func (d *Daemon) gatewayRoutes() []localapi.Route {
	return []localapi.Route{
		{Pattern: "POST /v1/gateway/tokens", Handler: d.handleTokenCreate},
		{Pattern: "GET /v1/gateway/tokens", Handler: d.handleTokens},
		{Pattern: "DELETE /v1/gateway/tokens/{id}", Handler: d.handleTokenRevoke},
		{Pattern: "GET /v1/channels", Handler: d.handleChannels},
		{Pattern: "GET /v1/pairing", Handler: d.handlePairing},
		{Pattern: "POST /v1/pairing/{code}/{verdict}", Handler: d.handlePairingResolve},
	}
}

// channelsCode maps the gateway's and the channels' errors to API codes.
func channelsCode(err error) string {
	switch {
	case errors.Is(err, gateway.ErrUnknownToken):
		return apitype.CodeUnknownToken
	case errors.Is(err, channels.ErrUnknownCode):
		return apitype.CodeUnknownPairing
	case errors.Is(err, gateway.ErrBadScope):
		return apitype.CodeInvalidArgument
	}
	return ""
}

func tokenInfo(t gateway.Token) apitype.GatewayToken {
	return apitype.GatewayToken{ID: t.ID, Agents: t.Agents, Scopes: t.Scopes, Label: t.Label, Created: t.Created, Revoked: t.Revoked}
}

// handleTokenCreate creates a token: a governed act (gateway.token.create)
// whose record names the token's id, agents and scopes, never its secret.
func (d *Daemon) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	var req apitype.GatewayTokenCreateRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	id := gateway.NewTokenID()
	act := authority.Act{Action: "gateway.token.create", Kind: governance.KindGatewayToken, Source: "operator", Subject: operator(),
		Context: governance.Context{Extra: map[string]string{"token_id": id, "agents": strings.Join(req.Agents, ","), "scopes": strings.Join(req.Scopes, ",")}}}
	scopes, err := gateway.CheckScopes(req.Scopes)
	if err == nil && len(req.Agents) == 0 {
		err = errors.New("a token needs at least one agent")
	}
	for _, a := range req.Agents {
		if err == nil && !agentdef.ValidName(a) {
			err = fmt.Errorf("agent name %q is not valid", a)
		}
	}
	if err == nil && len(req.Label) > 128 {
		err = errors.New("the label is longer than 128 bytes")
	}
	if err != nil {
		d.refuse(w, r, act, fmt.Errorf("%w: %w", authority.ErrInput, err))
		return
	}
	var out apitype.GatewayTokenCreated
	err = d.auth.Do(r.Context(), act, func(ctx context.Context, pm *authority.Permit) (any, error) {
		secret, t, err := d.gw.tokens.Create(id, req.Agents, scopes, channelsOneLine(req.Label), d.opts.Clock.Now())
		out = apitype.GatewayTokenCreated{Token: secret, Info: tokenInfo(t), ActionID: pm.ActionID()}
		return governance.GatewayTokenDetail{TokenID: id, Agents: req.Agents, Scopes: scopes}, err
	})
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, out)
}

func channelsOneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (d *Daemon) handleTokens(w http.ResponseWriter, r *http.Request) {
	out := apitype.GatewayTokensResponse{Tokens: []apitype.GatewayToken{}}
	for _, t := range d.gw.tokens.List() {
		out.Tokens = append(out.Tokens, tokenInfo(t))
	}
	localapi.WriteJSON(w, out)
}

// handleTokenRevoke revokes a token (gateway.token.revoke).
func (d *Daemon) handleTokenRevoke(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	act := authority.Act{Action: "gateway.token.revoke", Kind: governance.KindGatewayToken, Source: "operator", Subject: operator(),
		Context: governance.Context{Extra: map[string]string{"token_id": id}}}
	if _, err := d.gw.tokens.Get(id); err != nil {
		d.refuse(w, r, act, fmt.Errorf("%w: %w", authority.ErrConflict, err))
		return
	}
	var out apitype.GatewayToken
	err := d.auth.Do(r.Context(), act, func(ctx context.Context, _ *authority.Permit) (any, error) {
		t, err := d.gw.tokens.Revoke(id, d.opts.Clock.Now())
		out = tokenInfo(t)
		return governance.GatewayTokenDetail{TokenID: id, Agents: t.Agents, Scopes: t.Scopes, Revoked: true}, err
	})
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, out)
}

func (d *Daemon) handleChannels(w http.ResponseWriter, r *http.Request) {
	g := &d.gw
	out := apitype.ChannelsResponse{Gateway: apitype.GatewayInfo{Listen: d.cfg.Gateway.Listen, Addr: g.addr, TLS: g.tls},
		Channels: []apitype.ChannelStatus{}}
	for _, t := range g.tokens.List() {
		if t.Revoked == nil {
			out.Gateway.Tokens++
		}
	}
	for _, h := range d.cfg.Gateway.Hooks {
		out.Gateway.Hooks = append(out.Gateway.Hooks, h.Name)
	}
	for _, st := range g.sup.Status() {
		out.Channels = append(out.Channels, apitype.ChannelStatus{Name: st.Name, Kind: st.Kind, State: st.State, Since: st.Since,
			Restarts: st.Restarts, LastError: st.LastError, Received: st.Received, Answered: st.Answered, Refused: st.Refused})
	}
	localapi.WriteJSON(w, out)
}

func (d *Daemon) handlePairing(w http.ResponseWriter, r *http.Request) {
	pend, appr := d.gw.pairing.List(d.opts.Clock.Now())
	out := apitype.PairingResponse{Pending: []apitype.PairingRequest{}, Approved: []apitype.PairedSender{}}
	for _, q := range pend {
		out.Pending = append(out.Pending, apitype.PairingRequest{Code: q.Code, Channel: q.Channel, Sender: q.Sender, Name: q.Name, Created: q.Created, Expires: q.Expires})
	}
	for _, a := range appr {
		out.Approved = append(out.Approved, apitype.PairedSender{Channel: a.Channel, Sender: a.Sender, Name: a.Name, Approved: a.Approved})
	}
	localapi.WriteJSON(w, out)
}

// handlePairingResolve approves or denies a pairing request: a governed act
// (channel.pairing.approve, channel.pairing.deny).
func (d *Daemon) handlePairingResolve(w http.ResponseWriter, r *http.Request) {
	code, verdict := strings.ToUpper(r.PathValue("code")), r.PathValue("verdict")
	if verdict != "approve" && verdict != "deny" {
		localapi.WriteError(w, http.StatusBadRequest, apitype.CodeInvalidArgument, fmt.Sprintf("verdict %q: want approve or deny", verdict))
		return
	}
	approve := verdict == "approve"
	act := authority.Act{Action: "channel.pairing." + verdict, Kind: governance.KindChannelPairing, Source: "operator", Subject: operator(),
		Context: governance.Context{Extra: map[string]string{"code": code}}}
	q, err := d.gw.pairing.Lookup(code, d.opts.Clock.Now())
	if err != nil {
		d.refuse(w, r, act, fmt.Errorf("%w: %w", authority.ErrConflict, err))
		return
	}
	act.Context.Extra["channel"], act.Context.Extra["sender"] = q.Channel, q.Sender
	var out apitype.PairingResolveResponse
	err = d.auth.Do(r.Context(), act, func(ctx context.Context, pm *authority.Permit) (any, error) {
		_, err := d.gw.pairing.Resolve(code, approve, d.opts.Clock.Now())
		out = apitype.PairingResolveResponse{Code: code, Channel: q.Channel, Sender: q.Sender, Approved: approve, ActionID: pm.ActionID()}
		return governance.PairingDetail{Channel: q.Channel, Sender: q.Sender, Code: code, Approved: approve}, err
	})
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, out)
}
