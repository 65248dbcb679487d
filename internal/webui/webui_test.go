package webui

import (
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/clock"
)

// fakeAPI records what reaches the local API.
type fakeAPI struct {
	mu     sync.Mutex
	reqs   []*http.Request
	bodies []string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.bodies = append(f.bodies, string(b))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true}`)
}

func (f *fakeAPI) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

const addr = "127.0.0.1:8788"

func newTest(t *testing.T) (*Server, *fakeAPI, *clock.Fake) {
	t.Helper()
	api := &fakeAPI{}
	clk := clock.NewFake(time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC))
	s := New(Options{API: api, Clock: clk, LoginTTL: time.Minute, SessionTTL: time.Hour})
	s.SetAddr(addr)
	return s, api, clk
}

func do(s *Server, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "http://"+addr+target, nil)
	for k, v := range hdr {
		if k == "Host" {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

// login follows a fresh login link and returns the session cookie.
func login(t *testing.T, s *Server) (cookie, csrf string) {
	t.Helper()
	link, _, err := s.NewLogin()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	w := do(s, "GET", u.RequestURI(), nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == s.CookieName() {
			cookie = c.Value
		}
	}
	w = do(s, "GET", "/session", map[string]string{"Cookie": s.CookieName() + "=" + cookie})
	var info SessionInfo
	if err := json.Unmarshal(w.Body.Bytes(), &info); err != nil || info.CSRF == "" {
		t.Fatalf("session: %d %s", w.Code, w.Body)
	}
	return cookie, info.CSRF
}

func TestLoginTokenIsOneTimeAndLeavesTheURL(t *testing.T) {
	s, _, _ := newTest(t)
	link, _, err := s.NewLogin()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, "http://"+addr+"/login?token=") {
		t.Fatalf("link %q", link)
	}
	u, _ := url.Parse(link)
	w := do(s, "GET", u.RequestURI(), nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		t.Fatalf("login answered %d, Location %q: want 303 to / (the token leaves the address bar)", w.Code, w.Header().Get("Location"))
	}
	var c *http.Cookie
	for _, k := range w.Result().Cookies() {
		if k.Name == s.CookieName() {
			c = k
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", c)
	}
	if strings.Contains(c.Value, u.Query().Get("token")) {
		t.Fatal("the cookie carries the login token")
	}
	// Used once: the same link now fails, and mints nothing.
	w = do(s, "GET", u.RequestURI(), nil)
	if w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
		t.Fatalf("second use of a login link answered %d with cookies %v", w.Code, w.Result().Cookies())
	}
	// Guessed and empty tokens fail too.
	for _, q := range []string{"/login", "/login?token=", "/login?token=00"} {
		if w := do(s, "GET", q, nil); w.Code != http.StatusForbidden {
			t.Errorf("%s answered %d", q, w.Code)
		}
	}
}

func TestLoginTokenExpires(t *testing.T) {
	s, _, clk := newTest(t)
	link, _, _ := s.NewLogin()
	clk.Advance(time.Minute)
	u, _ := url.Parse(link)
	if w := do(s, "GET", u.RequestURI(), nil); w.Code != http.StatusForbidden {
		t.Fatalf("an expired login link answered %d", w.Code)
	}
}

func TestSessionExpires(t *testing.T) {
	s, _, clk := newTest(t)
	cookie, _ := login(t, s)
	hdr := map[string]string{"Cookie": s.CookieName() + "=" + cookie}
	if w := do(s, "GET", "/api/v1/status", hdr); w.Code != http.StatusOK {
		t.Fatalf("status with a session: %d", w.Code)
	}
	clk.Advance(time.Hour)
	if w := do(s, "GET", "/api/v1/status", hdr); w.Code != http.StatusUnauthorized {
		t.Fatalf("status with an expired session: %d", w.Code)
	}
}

func TestNoLoginBeforeListening(t *testing.T) {
	s := New(Options{API: &fakeAPI{}})
	if _, _, err := s.NewLogin(); err != ErrLoginDisabled {
		t.Fatalf("NewLogin before SetAddr: %v", err)
	}
}

// The attacks on a local control panel, each refused.
func TestAttacksFail(t *testing.T) {
	s, api, _ := newTest(t)
	cookie, csrf := login(t, s)
	ck := s.CookieName() + "=" + cookie
	cases := []struct {
		name, method, target string
		hdr                  map[string]string
		want                 int
	}{
		{"no session", "GET", "/api/v1/status", nil, 401},
		{"forged cookie", "GET", "/api/v1/status", map[string]string{"Cookie": s.CookieName() + "=" + strings.Repeat("a", 64)}, 401},
		{"login token as cookie", "GET", "/api/v1/status", map[string]string{"Cookie": s.CookieName() + "=00"}, 401},
		{"dns rebinding host", "GET", "/api/v1/status", map[string]string{"Cookie": ck, "Host": "evil.example:8788"}, 421},
		{"dns rebinding page", "GET", "/", map[string]string{"Host": "evil.example:8788"}, 421},
		{"other port", "GET", "/api/v1/status", map[string]string{"Cookie": ck, "Host": "127.0.0.1:9999"}, 421},
		{"csrf missing", "POST", "/api/v1/processes/5/stop", map[string]string{"Cookie": ck}, 403},
		{"csrf wrong", "POST", "/api/v1/processes/5/stop", map[string]string{"Cookie": ck, CSRFHeader: "x" + csrf}, 403},
		{"cross-origin post", "POST", "/api/v1/processes/5/stop", map[string]string{"Cookie": ck, CSRFHeader: csrf, "Origin": "http://evil.example"}, 403},
		{"cross-site fetch", "GET", "/api/v1/chain/events?follow=1", map[string]string{"Cookie": ck, "Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site other port", "GET", "/api/v1/logs?follow=1", map[string]string{"Cookie": ck, "Sec-Fetch-Site": "same-site"}, 403},
		{"websocket hijack", "GET", "/api/v1/chain/events", map[string]string{"Cookie": ck, "Origin": "http://evil.example",
			"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}, 403},
		{"websocket same origin", "GET", "/api/v1/chain/events", map[string]string{"Cookie": ck, "Origin": "http://" + addr,
			"Upgrade": "websocket", "Connection": "Upgrade"}, 400},
		{"cross-site login", "GET", "/login?token=x", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"declared admin scope: mint gateway token", "POST", "/api/v1/gateway/tokens", map[string]string{"Cookie": ck, CSRFHeader: csrf,
			"X-Weave-Scope": "admin", "Authorization": "Bearer admin"}, 403},
		{"elevate capabilities", "PUT", "/api/v1/processes/5/capabilities", map[string]string{"Cookie": ck, CSRFHeader: csrf}, 403},
		{"shutdown", "POST", "/api/v1/shutdown", map[string]string{"Cookie": ck, CSRFHeader: csrf}, 403},
		{"install tool", "POST", "/api/v1/tools", map[string]string{"Cookie": ck, CSRFHeader: csrf}, 403},
		{"raw ipc", "POST", "/api/v1/ipc/send", map[string]string{"Cookie": ck, CSRFHeader: csrf}, 403},
		{"logout without csrf", "POST", "/logout", map[string]string{"Cookie": ck}, 403},
		{"post to a page", "POST", "/", map[string]string{"Cookie": ck, CSRFHeader: csrf}, 405},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := api.count()
			w := do(s, c.method, c.target, c.hdr)
			if w.Code != c.want {
				t.Fatalf("%s %s answered %d %s, want %d", c.method, c.target, w.Code, w.Body, c.want)
			}
			if api.count() != before {
				t.Fatal("the request reached the API")
			}
			if w.Header().Get("Content-Security-Policy") != CSP {
				t.Fatal("no CSP on a refusal")
			}
		})
	}
	// The same session, done right, reaches the API — with none of the
	// client's own claims.
	w := do(s, "POST", "/api/v1/processes/5/stop", map[string]string{"Cookie": ck, CSRFHeader: csrf, "Origin": "http://" + addr,
		"Sec-Fetch-Site": "same-origin", "X-Weave-Scope": "admin", "Authorization": "Bearer admin", "Content-Type": "application/json"})
	if w.Code != http.StatusOK || api.count() != 1 {
		t.Fatalf("a proper request answered %d (api saw %d)", w.Code, api.count())
	}
	got := api.reqs[0]
	if got.URL.Path != "/v1/processes/5/stop" || got.Header.Get("Authorization") != "" || got.Header.Get("X-Weave-Scope") != "" ||
		got.Header.Get("Cookie") != "" || got.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("forwarded %s with headers %v", got.URL.Path, got.Header)
	}
	// Logging out ends the session.
	if w := do(s, "POST", "/logout", map[string]string{"Cookie": ck, CSRFHeader: csrf}); w.Code != 200 {
		t.Fatalf("logout %d", w.Code)
	}
	if w := do(s, "GET", "/api/v1/status", map[string]string{"Cookie": ck}); w.Code != 401 {
		t.Fatalf("after logout: %d", w.Code)
	}
}

func TestHosts(t *testing.T) {
	s, _, _ := newTest(t)
	for host, want := range map[string]bool{addr: true, "localhost:8788": true, "[::1]:8788": true, "LOCALHOST:8788": true,
		"127.0.0.1": false, "evil.example:8788": false, "127.0.0.1.nip.io:8788": false, "": false, "localhost:1": false} {
		if got := s.hostAllowed(host); got != want {
			t.Errorf("hostAllowed(%q) = %v", host, got)
		}
	}
}

// The pages load no inline script or style, so the strict CSP holds, and
// the assets stay small.
func TestAssetsStrictAndSmall(t *testing.T) {
	inline := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|\son[a-z]+\s*=|\sstyle\s*=|javascript:`)
	total := 0
	err := fs.WalkDir(Assets(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Assets(), p)
		if err != nil {
			return err
		}
		total += len(b)
		if strings.HasSuffix(p, ".html") {
			if m := inline.Find(b); m != nil {
				t.Errorf("%s has inline script or style: %q", p, m)
			}
		}
		if strings.HasSuffix(p, ".js") && regexp.MustCompile(`\beval\(|new Function\(|innerHTML\s*=`).Match(b) {
			t.Errorf("%s uses eval, new Function or innerHTML", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 500*1024 {
		t.Fatalf("UI assets are %d bytes, over 500 KiB", total)
	}
	t.Logf("UI assets: %d bytes", total)
	s, _, _ := newTest(t)
	w := do(s, "GET", "/", nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "<main") {
		t.Fatalf("index: %d", w.Code)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"} {
		if w.Header().Get(h) == "" {
			t.Errorf("index has no %s", h)
		}
	}
}

// Whoever the browser says resolves a deferred act, the chain records the
// control UI's operator.
func TestResolverIsNotTheClients(t *testing.T) {
	s, api, _ := newTest(t)
	cookie, csrf := login(t, s)
	for _, body := range []string{`{"by":"admin","reason":"looks fine"}`, ``, `{"reason":"ok"}`} {
		r := httptest.NewRequest("POST", "http://"+addr+"/api/v1/gov/pending/a-1/approve", strings.NewReader(body))
		r.Header.Set("Cookie", s.CookieName()+"="+cookie)
		r.Header.Set(CSRFHeader, csrf)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != 200 {
			t.Fatalf("%q: %d %s", body, w.Code, w.Body)
		}
		var got struct{ By, Reason string }
		if err := json.Unmarshal([]byte(api.bodies[len(api.bodies)-1]), &got); err != nil || got.By != Resolver {
			t.Fatalf("%q forwarded as %q (%v)", body, api.bodies[len(api.bodies)-1], err)
		}
		if strings.Contains(body, "reason") && got.Reason == "" {
			t.Fatalf("%q lost its reason", body)
		}
	}
	r := httptest.NewRequest("POST", "http://"+addr+"/api/v1/gov/pending/a-1/approve", strings.NewReader(`{"by":"x","scope":"admin"}`))
	r.Header.Set("Cookie", s.CookieName()+"="+cookie)
	r.Header.Set(CSRFHeader, csrf)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest {
		t.Fatalf("a resolution declaring a scope answered %d", w.Code)
	}
}

// FuzzHostAllowed: whatever the Host header, it is allowed only when it
// names a loopback host (or localhost) with the UI's own port.
func FuzzHostAllowed(f *testing.F) {
	for _, h := range []string{addr, "localhost:8788", "[::1]:8788", "evil.example:8788", "127.0.0.1:8788.evil", "", ":8788", "127.1:8788", "[::ffff:127.0.0.1]:8788"} {
		f.Add(h)
	}
	s := New(Options{API: &fakeAPI{}})
	s.SetAddr(addr)
	f.Fuzz(func(t *testing.T, host string) {
		if !s.hostAllowed(host) {
			return
		}
		h, port, err := net.SplitHostPort(host)
		if err != nil || port != "8788" {
			t.Fatalf("allowed %q", host)
		}
		if ip := net.ParseIP(h); !strings.EqualFold(h, "localhost") && (ip == nil || !ip.IsLoopback()) {
			t.Fatalf("allowed a non-loopback host %q", host)
		}
	})
}
