// Package gateway is WeftOS's door for clients off the local socket: an
// HTTP server (loopback by default, TLS required elsewhere) that speaks
// the OpenAI Chat Completions API (GET /v1/models, GET /v1/models/{id},
// POST /v1/chat/completions, streamed or not), a WebSocket channel
// (/v1/ws), signed webhooks (POST /hooks/agent) and, when the daemon
// provides it, the Model Context Protocol (/mcp). Every request needs a
// bearer token the operator created (hashed at rest, scoped to agents and
// to what it may do, revocable) or, for a webhook, a valid HMAC signature;
// each is rate-limited per token and per sender; and every message that
// reaches an agent goes through channels.Hub: decided by governance and
// recorded on the chain with its reply.
package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/channels"
	"github.com/weftos/weftos/internal/clock"
)

// Hook is a webhook endpoint: its HMAC secret and the agent it drives.
type Hook struct {
	Name   string
	Agent  string
	Secret []byte
	Window time.Duration
}

// Options configure a Server.
type Options struct {
	Tokens *Tokens
	Hub    *channels.Hub
	// Agents lists the agents that exist (served as models weft/NAME).
	Agents func() []string
	// PerToken and PerSender rate-limit requests.
	PerToken, PerSender *channels.Limiter
	// AllowedOrigins are origin host patterns (besides the request's own
	// host) whose pages may open the WebSocket.
	AllowedOrigins []string
	// KeepAlive is the interval of SSE pings and WebSocket pings.
	KeepAlive time.Duration
	Hooks     []Hook
	// Code maps a run's error to an API code (apitype codes).
	Code  func(error) string
	Clock clock.Clock
	Log   *slog.Logger
	// Created is reported as the models' creation time.
	Created time.Time
	// Handlers are further endpoints (pattern → handler) that
	// authenticate requests themselves: chat platforms' event callbacks.
	Handlers map[string]http.Handler
	// MCP, when set, serves the Model Context Protocol (streamable HTTP)
	// at /mcp to tokens with the mcp scope; it finds the token with
	// TokenFrom.
	MCP http.Handler
}

// Server is the gateway's HTTP handler and the goroutines it owns
// (webhook runs in the background); Close waits for them.
type Server struct {
	opts   Options
	mux    *http.ServeMux
	ctx    context.Context // ends at Close: background runs
	cancel context.CancelFunc
	wg     sync.WaitGroup
	seen   replayCache
}

// New returns a gateway server.
func New(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = 15 * time.Second
	}
	if opts.Code == nil {
		opts.Code = func(error) string { return "internal" }
	}
	s := &Server{opts: opts, mux: http.NewServeMux()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mux.HandleFunc("GET /v1/models", s.authed(ScopeModels, s.handleModels))
	s.mux.HandleFunc("GET /v1/models/{id...}", s.authed(ScopeModels, s.handleModel))
	s.mux.HandleFunc("POST /v1/chat/completions", s.authed(ScopeChat, s.handleChat))
	s.mux.HandleFunc("GET /v1/ws", s.handleWS)
	s.mux.HandleFunc("POST /hooks/agent", s.handleHook)
	if opts.MCP != nil {
		s.mux.HandleFunc("/mcp", s.authed(ScopeMCP, opts.MCP.ServeHTTP))
	}
	for pattern, h := range opts.Handlers {
		s.mux.Handle(pattern, h)
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "", "unknown_url", "unknown endpoint "+r.Method+" "+r.URL.Path)
	})
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

// Cancel ends streams, WebSocket sessions and background runs; call it
// before shutting the HTTP server down, so that its handlers return.
func (s *Server) Cancel() { s.cancel() }

// Close cancels, then waits for background webhook runs; call it once the
// HTTP server has shut down (no handler can start another run).
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}

// Done is closed when the server is closing: long requests end.
func (s *Server) Done() <-chan struct{} { return s.ctx.Done() }

type tokenKey struct{}

func tokenFrom(ctx context.Context) Token {
	t, _ := ctx.Value(tokenKey{}).(Token)
	return t
}

// TokenFrom returns the token a request was authenticated with (for the
// handlers of Options.MCP).
func TokenFrom(ctx context.Context) (Token, bool) {
	t, ok := ctx.Value(tokenKey{}).(Token)
	return t, ok
}

// bearer returns the credential of an Authorization: Bearer header.
func bearer(r *http.Request) string {
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(v)
}

// authed wraps h: a valid token with scope, within its rate limit.
func (s *Server) authed(scope string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, ok := s.authenticate(w, bearer(r), scope)
		if !ok {
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, t)))
	}
}

// authenticate checks a credential for scope and the token's rate limit,
// answering the error itself when it fails.
func (s *Server) authenticate(w http.ResponseWriter, secret, scope string) (Token, bool) {
	if secret == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="weftos"`)
		writeError(w, http.StatusUnauthorized, "invalid_request_error", "", "missing_api_key", "a gateway token is required: Authorization: Bearer wgw_… (weave gateway token create)")
		return Token{}, false
	}
	t, err := s.opts.Tokens.Authenticate(secret)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="weftos", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "invalid_request_error", "", "invalid_api_key", "invalid or revoked gateway token")
		return Token{}, false
	}
	if !t.Allows(scope) {
		writeError(w, http.StatusForbidden, "permission_error", "", "insufficient_scope", "the token does not have the "+scope+" scope")
		return Token{}, false
	}
	if !s.allow(w, s.opts.PerToken, "token/"+t.ID) {
		return Token{}, false
	}
	return t, true
}

// allow takes one request from key's bucket, answering 429 when it is empty.
func (s *Server) allow(w http.ResponseWriter, l *channels.Limiter, key string) bool {
	if l == nil {
		return true
	}
	ok, retry := l.Allow(key, s.opts.Clock.Now())
	if ok {
		return true
	}
	secs := max(1, int((retry+time.Second-1)/time.Second))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, "rate_limit_error", "", "rate_limit_exceeded",
		"rate limit reached; retry after "+strconv.Itoa(secs)+"s")
	return false
}

// agents returns the agents the token reaches that exist.
func (s *Server) agents(t Token) []string {
	var out []string
	for _, a := range s.opts.Agents() {
		if t.Reaches(a) {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// ModelPrefix prefixes agent names to make model ids.
const ModelPrefix = "weft/"

// agentOf returns the agent a model id names, if the token reaches it
// (whether its definition exists is the run's business).
func (s *Server) agentOf(t Token, model string) (string, bool) {
	a, ok := strings.CutPrefix(model, ModelPrefix)
	if !ok {
		a = model // a bare agent name is accepted too
	}
	return a, t.Reaches(a)
}

// errStreamClosed ends a stream whose server is closing.
var errStreamClosed = errors.New("the gateway is shutting down")
