// Package webui serves the control UI: a web dashboard the daemon serves on
// a loopback address. The pages are static files embedded with go:embed
// (plain JavaScript modules, no build step); every datum they show and
// every act they trigger goes through the local API handler the daemon
// gives it, mounted under /api/, so the UI has no endpoints of its own
// beyond its login and session plumbing.
//
// The security layer in front of the API:
//
//   - Host check (DNS rebinding): the Host header must name the listener.
//   - A one-time login token (from `weave ui`, through the local API) is
//     exchanged at /login for a session cookie (HttpOnly, SameSite=Strict)
//     and a 303 redirect that drops the token from the address bar; the
//     token is then invalid.
//   - State-changing requests need the session's CSRF token in a header.
//   - Cross-site requests (a foreign Origin, or Sec-Fetch-Site cross-site or
//     same-site) to the API, the login and the streams are refused, so a
//     page elsewhere cannot hijack a stream or a WebSocket upgrade.
//   - A strict Content-Security-Policy (no inline script or style).
//   - The session's authority is fixed by the server: the API endpoints the
//     UI may reach are an allowlist, and what mints credentials or widens
//     authority (gateway tokens, capability elevation, shutdown, tool
//     installation) stays with the CLI whatever the client sends.
package webui

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/clock"
)

// CookiePrefix starts the session cookie's name, which ends with the
// UI's port: browsers share cookies across the ports of a host, so two
// nodes' UIs on one machine must not overwrite each other's sessions.
const CookiePrefix = "weave_ui_"

// CSRFHeader carries the session's CSRF token on state-changing requests.
const CSRFHeader = "X-Weave-Csrf"

// CSP is the Content-Security-Policy of every response.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// ErrLoginDisabled is returned by NewLogin when the server is not listening.
var ErrLoginDisabled = errors.New("webui: the control UI is not listening")

// Options configure a Server.
type Options struct {
	// API is the local API handler, serving /v1/…: the UI authenticates
	// requests itself and forwards the allowed ones to it.
	API        http.Handler
	Clock      clock.Clock
	Log        *slog.Logger
	LoginTTL   time.Duration // default 5m
	SessionTTL time.Duration // default 12h
}

// Server is the control UI's HTTP handler.
type Server struct {
	opts   Options
	static http.Handler
	allow  *http.ServeMux

	mu       sync.Mutex
	addr     string               // host:port the listener is bound to
	logins   map[string]time.Time // sha256(token) → expiry
	sessions map[string]*session  // sha256(cookie) → session
}

type session struct {
	csrf    string
	expires time.Time
}

// New builds the server. SetAddr must be called with the listener's
// address before it answers anything but 421.
func New(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.LoginTTL <= 0 {
		opts.LoginTTL = 5 * time.Minute
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	s := &Server{opts: opts, static: staticHandler(), logins: map[string]time.Time{}, sessions: map[string]*session{}}
	s.allow = http.NewServeMux()
	for _, p := range Allowed {
		s.allow.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	return s
}

// SetAddr records the address the UI listens on (host:port).
func (s *Server) SetAddr(addr string) {
	s.mu.Lock()
	s.addr = addr
	s.mu.Unlock()
}

// CookieName is the session cookie's name.
func (s *Server) CookieName() string {
	_, port, _ := net.SplitHostPort(s.Addr())
	return CookiePrefix + port
}

// Addr is the address the UI listens on ("" before SetAddr).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// NewLogin mints a one-time login token and returns the link that uses
// it, and when it expires.
func (s *Server) NewLogin() (link string, expires time.Time, err error) {
	tok, err := randomToken()
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.opts.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.addr == "" {
		return "", time.Time{}, ErrLoginDisabled
	}
	s.sweep(now)
	expires = now.Add(s.opts.LoginTTL)
	s.logins[hashOf(tok)] = expires
	return "http://" + s.addr + "/login?token=" + url.QueryEscape(tok), expires, nil
}

// sweep drops expired logins and sessions; s.mu is held.
func (s *Server) sweep(now time.Time) {
	for k, exp := range s.logins {
		if !now.Before(exp) {
			delete(s.logins, k)
		}
	}
	for k, ss := range s.sessions {
		if !now.Before(ss.expires) {
			delete(s.sessions, k)
		}
	}
}

func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

var _ http.Handler = (*Server)(nil)

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if !s.hostAllowed(r.Host) {
		fail(w, http.StatusMisdirectedRequest, "bad_host", "this server answers only to its own loopback address")
		return
	}
	path := r.URL.Path
	sensitive := path == "/login" || path == "/logout" || path == "/session" || strings.HasPrefix(path, "/api/")
	if r.Header.Get("Upgrade") != "" || sensitive {
		if why := s.crossSite(r); why != "" {
			s.opts.Log.Warn("ui: cross-site request refused", "path", path, "why", why)
			fail(w, http.StatusForbidden, "cross_site", why)
			return
		}
	}
	if r.Header.Get("Upgrade") != "" {
		fail(w, http.StatusBadRequest, "invalid_argument", "the control UI serves no WebSocket")
		return
	}
	switch {
	case path == "/login":
		s.login(w, r)
	case path == "/logout":
		s.logout(w, r)
	case path == "/session":
		s.sessionInfo(w, r)
	case strings.HasPrefix(path, "/api/"):
		s.api(w, r)
	default:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			fail(w, http.StatusMethodNotAllowed, "invalid_argument", "static files are read-only")
			return
		}
		s.static.ServeHTTP(w, r)
	}
}

// hostAllowed is the DNS-rebinding guard: the Host header must be the
// listener's address, or a loopback name with its port.
func (s *Server) hostAllowed(host string) bool {
	addr := s.Addr()
	if addr == "" {
		return false
	}
	if strings.EqualFold(host, addr) {
		return true
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	hh, hp, err := net.SplitHostPort(host)
	if err != nil || hp != port {
		return false
	}
	if strings.EqualFold(hh, "localhost") {
		return true
	}
	ip := net.ParseIP(hh)
	return ip != nil && ip.IsLoopback()
}

// crossSite says why r comes from another site, or "".
func (s *Server) crossSite(r *http.Request) string {
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
		return "origin " + o + " is not this UI's"
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return ""
	default:
		return "the request comes from another site (Sec-Fetch-Site " + r.Header.Get("Sec-Fetch-Site") + ")"
	}
}

// login exchanges a one-time token for a session cookie and redirects to
// the overview, so the token leaves the address bar at once.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		fail(w, http.StatusMethodNotAllowed, "invalid_argument", "open the link `weave ui` prints")
		return
	}
	tok := r.URL.Query().Get("token")
	now := s.opts.Clock.Now()
	s.mu.Lock()
	s.sweep(now)
	k := hashOf(tok)
	_, ok := s.logins[k]
	delete(s.logins, k)
	var id string
	var err error
	if ok {
		if id, err = randomToken(); err == nil {
			var csrf string
			if csrf, err = randomToken(); err == nil {
				s.sessions[hashOf(id)] = &session{csrf: csrf, expires: now.Add(s.opts.SessionTTL)}
			}
		}
	}
	s.mu.Unlock()
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if !ok || tok == "" {
		s.opts.Log.Warn("ui: login with an unknown, used or expired token")
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("This login link is unknown, used or expired. Run `weave ui` for a new one.\n"))
		return
	}
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	http.SetCookie(w, &http.Cookie{Name: s.CookieName(), Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		MaxAge: int(s.opts.SessionTTL / time.Second)})
	s.opts.Log.Info("ui: operator logged in")
	h.Set("Location", "/")
	w.WriteHeader(http.StatusSeeOther)
}

// session returns r's session, or nil.
func (s *Server) session(r *http.Request) *session {
	c, err := r.Cookie(s.CookieName())
	if err != nil || c.Value == "" {
		return nil
	}
	now := s.opts.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[hashOf(c.Value)]
	if ss == nil || !now.Before(ss.expires) {
		return nil
	}
	cp := *ss
	return &cp
}

// SessionInfo answers GET /session: the CSRF token the page sends back
// on state-changing requests. Pages of other origins cannot read it.
type SessionInfo struct {
	CSRF      string    `json:"csrf"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) sessionInfo(w http.ResponseWriter, r *http.Request) {
	ss := s.session(r)
	if ss == nil {
		fail(w, http.StatusUnauthorized, "unauthorized", "not logged in: run `weave ui` and open the link it prints")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(SessionInfo{CSRF: ss.csrf, ExpiresAt: ss.expires})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	ss := s.session(r)
	if r.Method != http.MethodPost || ss == nil || !csrfOK(r, ss) {
		fail(w, http.StatusForbidden, "csrf", "logout needs a session and its CSRF token")
		return
	}
	c, _ := r.Cookie(s.CookieName())
	s.mu.Lock()
	delete(s.sessions, hashOf(c.Value))
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: s.CookieName(), Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(apitype.OK{OK: true})
}

func csrfOK(r *http.Request, ss *session) bool {
	got := r.Header.Get(CSRFHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(ss.csrf)) == 1
}

// api forwards an allowed request of a logged-in session to the local API.
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	ss := s.session(r)
	if ss == nil {
		fail(w, http.StatusUnauthorized, "unauthorized", "not logged in: run `weave ui` and open the link it prints")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !csrfOK(r, ss) {
		fail(w, http.StatusForbidden, "csrf", "missing or wrong CSRF token")
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = strings.TrimPrefix(r.URL.Path, "/api")
	r2.URL.RawPath = ""
	r2.RequestURI = ""
	// What the client says about itself carries no authority: the API sees
	// the operator's session, nothing the browser declared.
	r2.Header = http.Header{}
	for _, k := range []string{"Content-Type", "Accept", "Content-Length"} {
		if v := r.Header.Values(k); len(v) > 0 {
			r2.Header[k] = v
		}
	}
	_, pattern := s.allow.Handler(r2)
	if pattern == "" {
		fail(w, http.StatusForbidden, "not_in_ui", r.Method+" "+r2.URL.Path+" is not available in the control UI: use the weave CLI")
		return
	}
	if pattern == resolvePattern && !s.resolver(w, r2) {
		return
	}
	s.opts.API.ServeHTTP(w, r2)
}

// resolvePattern is approving or rejecting a deferred act.
const resolvePattern = "POST /v1/gov/pending/{id}/{verdict}"

// Resolver is who the chain records as resolving a deferred act from the
// UI: the browser cannot name someone else.
const Resolver = "operator (control UI)"

// resolver rewrites a resolution's body so that its "by" is Resolver,
// keeping the operator's reason.
func (s *Server) resolver(w http.ResponseWriter, r *http.Request) bool {
	var req apitype.ResolveRequest
	if r.Body != nil && r.ContentLength != 0 {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			fail(w, http.StatusBadRequest, "invalid_argument", "resolution body: "+err.Error())
			return false
		}
	}
	req.By = Resolver
	b, _ := json.Marshal(req)
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.Header.Set("Content-Type", "application/json")
	return true
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apitype.ErrorResponse{Error: apitype.Error{Code: code, Message: msg}})
}
