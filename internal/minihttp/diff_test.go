package minihttp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The differential tests serve the same handlers over net/http and over
// minihttp and call them with both clients: every combination must give
// what net/http gives itself (status, the headers the API reads, body,
// trailers).

// apiRoutes are handlers shaped like the local API's (written against
// minihttp's types; stdHandler adapts them to net/http).
var apiRoutes = []struct {
	pattern string
	h       HandlerFunc
}{
	{"GET /v1/status", func(w ResponseWriter, r *Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "q": r.URL.Query().Get("q")})
	}},
	{"GET /v1/processes/{pid}", func(w ResponseWriter, r *Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"pid": r.PathValue("pid")})
	}},
	{"POST /v1/processes/{pid}/{action}", func(w ResponseWriter, r *Request) {
		b, err := io.ReadAll(MaxBytesReader(w, r.Body, 64))
		if err != nil {
			var mb *MaxBytesError
			if errors.As(err, &mb) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(StatusRequestEntityTooLarge)
				fmt.Fprintf(w, "{\"limit\":%d}\n", mb.Limit)
				return
			}
			w.WriteHeader(StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"pid": r.PathValue("pid"), "action": r.PathValue("action"), "body": string(b)})
	}},
	{"PUT /v1/processes/{pid}/capabilities", func(w ResponseWriter, r *Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(StatusConflict)
		_, _ = io.WriteString(w, `{"error":{"code":"conflict","message":"x"}}`+"\n")
	}},
	{"DELETE /v1/cron/{id}", func(w ResponseWriter, r *Request) {}},
	{"GET /v1/big", func(w ResponseWriter, r *Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(bytes.Repeat([]byte("0123456789abcdef"), 2000))
	}},
	{"GET /v1/stream", func(w ResponseWriter, r *Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(StatusOK)
		fl := w.(Flusher)
		fl.Flush()
		enc := json.NewEncoder(w)
		for i := range 5 {
			_ = enc.Encode(map[string]int{"n": i})
			fl.Flush()
		}
	}},
	{"GET /v1/stream/fail", func(w ResponseWriter, r *Request) {
		w.Header().Set("Trailer", "Weft-Error-Code, Weft-Error-Message")
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(StatusOK)
		_, _ = io.WriteString(w, "{\"n\":1}\n")
		w.(Flusher).Flush()
		w.Header().Set("Weft-Error-Code", "chain_broken")
		w.Header().Set("Weft-Error-Message", "event 7: hash mismatch")
	}},
	{"GET /v1/text", func(w ResponseWriter, r *Request) {
		Error(w, "plain failure", StatusServiceUnavailable)
	}},
	{"GET /v1/esc/{name}", func(w ResponseWriter, r *Request) {
		_, _ = io.WriteString(w, r.PathValue("name"))
	}},
	{"/v1/any", func(w ResponseWriter, r *Request) { _, _ = io.WriteString(w, r.Method) }},
}

func miniMux() *ServeMux {
	m := NewServeMux()
	for _, rt := range apiRoutes {
		m.HandleFunc(rt.pattern, rt.h)
	}
	return m
}

// stdRW adapts net/http's writer to minihttp's interface.
type stdRW struct{ w http.ResponseWriter }

func (s stdRW) Header() Header              { return Header(s.w.Header()) }
func (s stdRW) Write(p []byte) (int, error) { return s.w.Write(p) }
func (s stdRW) WriteHeader(c int)           { s.w.WriteHeader(c) }
func (s stdRW) Flush()                      { s.w.(http.Flusher).Flush() }

func stdMux() *http.ServeMux {
	m := http.NewServeMux()
	for _, rt := range apiRoutes {
		var names []string
		for _, seg := range strings.Split(rt.pattern, "/") {
			if n, ok := strings.CutPrefix(seg, "{"); ok {
				names = append(names, strings.TrimSuffix(n, "}"))
			}
		}
		h := rt.h
		m.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) {
			mr := &Request{Method: r.Method, URL: r.URL, Header: Header(r.Header), Body: r.Body, ContentLength: r.ContentLength, ctx: r.Context()}
			for _, n := range names {
				mr.SetPathValue(n, r.PathValue(n))
			}
			h(stdRW{w}, mr)
		})
	}
	return m
}

func listenUnix(t testing.TB) (net.Listener, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	return ln, path
}

func serveMini(t testing.TB, h Handler) string {
	ln, path := listenUnix(t)
	s := &Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return path
}

func serveStd(t testing.TB, h http.Handler) string {
	ln, path := listenUnix(t)
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return path
}

// result is what the comparison looks at.
type result struct {
	Status  int
	Headers map[string]string
	Body    string
	Trailer map[string]string
}

var compared = []string{"Content-Type", "Allow", "X-Content-Type-Options", "Content-Length"}

type caller func(ctx context.Context, method, target, body string) (result, error)

func miniCaller(path string) (caller, func()) {
	c := &Client{Transport: &Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
	return func(ctx context.Context, method, target, body string) (result, error) {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := NewRequestWithContext(ctx, method, "http://weave"+target, rd)
		if err != nil {
			return result{}, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return result{}, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return result{}, err
		}
		return makeResult(resp.StatusCode, map[string][]string(resp.Header), b, map[string][]string(resp.Trailer), resp.ContentLength), nil
	}, c.CloseIdleConnections
}

func stdCaller(path string) (caller, func()) {
	c := &http.Client{Transport: &http.Transport{DisableCompression: true, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
	return func(ctx context.Context, method, target, body string) (result, error) {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, "http://weave"+target, rd)
		if err != nil {
			return result{}, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return result{}, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return result{}, err
		}
		return makeResult(resp.StatusCode, resp.Header, b, resp.Trailer, resp.ContentLength), nil
	}, c.CloseIdleConnections
}

func makeResult(status int, h map[string][]string, body []byte, tr map[string][]string, cl int64) result {
	r := result{Status: status, Headers: map[string]string{}, Body: string(body), Trailer: map[string]string{}}
	for _, k := range compared {
		if v := h[k]; len(v) > 0 {
			r.Headers[k] = strings.Join(v, ",")
		}
	}
	if cl >= 0 {
		// Present either as a header or as a parsed length.
		r.Headers["Content-Length"] = fmt.Sprint(cl)
	}
	for k, v := range tr {
		if len(v) > 0 {
			r.Trailer[k] = strings.Join(v, ",")
		}
	}
	return r
}

var diffCases = []struct{ method, target, body string }{
	{"GET", "/v1/status?q=a%20b", ""},
	{"GET", "/v1/processes/p-7", ""},
	{"GET", "/v1/processes/a%2Fb", ""},
	{"POST", "/v1/processes/p-7/stop", `{"why":"test"}`},
	{"POST", "/v1/processes/p-7/stop", ""},
	{"POST", "/v1/processes/p-7/stop", strings.Repeat("x", 200)},
	{"PUT", "/v1/processes/p-7/capabilities", `{}`},
	{"DELETE", "/v1/cron/c1", ""},
	{"GET", "/v1/big", ""},
	{"GET", "/v1/stream", ""},
	{"GET", "/v1/stream/fail", ""},
	{"GET", "/v1/text", ""},
	{"GET", "/v1/esc/h%C3%A9llo%20w", ""},
	{"GET", "/v1/nowhere", ""},
	{"POST", "/v1/status", ""},
	{"DELETE", "/v1/processes/p-7", ""},
	{"GET", "/v1/processes", ""},
	{"PUT", "/v1/any", "x"},
	{"GET", "/v1/any", ""},
	{"HEAD", "/v1/status", ""},
}

func TestDifferential(t *testing.T) {
	stdSrv, miniSrv := serveStd(t, stdMux()), serveMini(t, miniMux())
	ctx := context.Background()
	for _, tc := range diffCases {
		name := tc.method + " " + tc.target
		refCall, refClose := stdCaller(stdSrv)
		want, err := refCall(ctx, tc.method, tc.target, tc.body)
		refClose()
		if err != nil {
			t.Fatalf("%s: reference: %v", name, err)
		}
		for _, combo := range []struct {
			name string
			mk   func(string) (caller, func())
			srv  string
		}{
			{"mini client, mini server", miniCaller, miniSrv},
			{"mini client, net/http server", miniCaller, stdSrv},
			{"net/http client, mini server", stdCaller, miniSrv},
		} {
			call, closeIdle := combo.mk(combo.srv)
			// Twice: the second call runs on a kept-alive connection.
			for i := range 2 {
				got, err := call(ctx, tc.method, tc.target, tc.body)
				if err != nil {
					t.Errorf("%s (%s, #%d): %v", name, combo.name, i, err)
					continue
				}
				if !equalResult(got, want) {
					t.Errorf("%s (%s, #%d):\n got %+v\nwant %+v", name, combo.name, i, got, want)
				}
			}
			closeIdle()
		}
	}
}

func equalResult(a, b result) bool {
	eq := func(x, y map[string]string) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if y[k] != v {
				return false
			}
		}
		return true
	}
	return a.Status == b.Status && a.Body == b.Body && eq(a.Headers, b.Headers) && eq(a.Trailer, b.Trailer)
}

// TestRawRefusals sends malformed requests to both servers: minihttp
// refuses at least what net/http refuses, with the same class of status,
// and closes the connection.
func TestRawRefusals(t *testing.T) {
	stdSrv, miniSrv := serveStd(t, stdMux()), serveMini(t, miniMux())
	for _, tc := range []struct {
		name, raw string
		want      int // minihttp's status
		stdSame   bool
	}{
		{"no version", "GET /v1/status\r\n\r\n", 400, true},
		{"bad method", "G@T /v1/status HTTP/1.1\r\nHost: x\r\n\r\n", 400, true},
		{"no host", "GET /v1/status HTTP/1.1\r\n\r\n", 400, true},
		{"two hosts", "GET /v1/status HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, true},
		{"bad header", "GET /v1/status HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400, true},
		{"folded", "GET /v1/status HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n", 400, false},
		{"conflicting length", "POST /v1/processes/p/stop HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, true},
		{"negative length", "POST /v1/processes/p/stop HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, true},
		{"huge header", "GET /v1/status HTTP/1.1\r\nHost: x\r\nA: " + strings.Repeat("a", 1<<20+8192) + "\r\n\r\n", 431, true},
		{"http2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, false},
		{"chunked body", "POST /v1/processes/p/stop HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, false},
		{"absolute target", "GET http://x/v1/status HTTP/1.1\r\nHost: x\r\n\r\n", 400, false},
	} {
		got := rawStatus(t, miniSrv, tc.raw)
		if got != tc.want {
			t.Errorf("%s: minihttp answered %d, want %d", tc.name, got, tc.want)
		}
		if tc.stdSame {
			if std := rawStatus(t, stdSrv, tc.raw); std/100 != got/100 {
				t.Errorf("%s: net/http answered %d, minihttp %d", tc.name, std, got)
			}
		}
	}
}

func rawStatus(t *testing.T, path, raw string) int {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = io.WriteString(c, raw) }()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestStreamCancel: a client that cancels mid-stream gets its context's
// error, and the handler's request context ends.
func TestStreamCancel(t *testing.T) {
	handlerDone := make(chan error, 1)
	m := NewServeMux()
	m.HandleFunc("GET /v1/tail", func(w ResponseWriter, r *Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_, _ = io.WriteString(w, "{}\n")
		w.(Flusher).Flush()
		<-r.Context().Done()
		handlerDone <- r.Context().Err()
	})
	path := serveMini(t, m)
	call, closeIdle := miniCaller(path)
	defer closeIdle()
	_ = call
	c := &Client{Transport: &Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := NewRequestWithContext(ctx, "GET", "http://weave/v1/tail", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "{}\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	cancel()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel: %v, want context.Canceled", err)
	}
	resp.Body.Close()
	select {
	case err := <-handlerDone:
		if err == nil {
			t.Fatal("handler context not ended")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler's context did not end when the client went away")
	}
}

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	mu sync.Mutex
	n  int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.n++
		l.mu.Unlock()
	}
	return c, err
}

// TestKeepAliveAndShutdown: sequential calls share one connection;
// Shutdown runs the OnShutdown hooks, ends a stream that watches them,
// closes idle connections and returns.
func TestKeepAliveAndShutdown(t *testing.T) {
	closing := make(chan struct{})
	watching := make(chan struct{}) // the stream's handler runs
	m := miniMux()
	m.HandleFunc("GET /v1/watch", func(w ResponseWriter, r *Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(StatusOK)
		w.(Flusher).Flush()
		close(watching)
		<-closing
		_, _ = io.WriteString(w, "{\"bye\":true}\n")
	})
	ln, path := listenUnix(t)
	cl := &countingListener{Listener: ln}
	s := &Server{Handler: m, ReadHeaderTimeout: 5 * time.Second}
	s.RegisterOnShutdown(func() { close(closing) })
	served := make(chan error, 1)
	go func() { served <- s.Serve(cl) }()
	call, closeIdle := miniCaller(path)
	defer closeIdle()
	for range 3 {
		if r, err := call(context.Background(), "GET", "/v1/status", ""); err != nil || r.Status != 200 {
			t.Fatalf("%+v %v", r, err)
		}
	}
	cl.mu.Lock()
	n := cl.n
	cl.mu.Unlock()
	if n != 1 {
		t.Fatalf("3 calls used %d connections, want 1", n)
	}
	streamed := make(chan result, 1)
	go func() {
		call2, closeIdle2 := miniCaller(path)
		defer closeIdle2()
		r, err := call2(context.Background(), "GET", "/v1/watch", "")
		if err != nil {
			t.Error(err)
		}
		streamed <- r
	}()
	// Wait until the stream's handler runs (its connection is active). The
	// first client's connection may still count as active for a moment
	// after its last answer, so counting active connections is not enough.
	select {
	case <-watching:
	case <-time.After(10 * time.Second):
		t.Fatal("stream never became active")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if r := <-streamed; r.Body != "{\"bye\":true}\n" {
		t.Fatalf("stream ended with %+v", r)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := call(context.Background(), "GET", "/v1/status", ""); err == nil {
		t.Fatal("a call after Shutdown succeeded")
	}
}

func TestMuxPatterns(t *testing.T) {
	for _, bad := range []string{"", "GET", "GET v1", "/v1/", "/", "/v1//x", "/v1/{a}/{a}", "/v1/{a...}", "/v1/x{a}", "/v1/{$}"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("pattern %q accepted", bad)
				}
			}()
			NewServeMux().HandleFunc(bad, func(ResponseWriter, *Request) {})
		}()
	}
	m := NewServeMux()
	m.HandleFunc("GET /a/{x}", func(ResponseWriter, *Request) {})
	func() {
		defer func() {
			if recover() == nil {
				t.Error("duplicate pattern accepted")
			}
		}()
		m.HandleFunc("GET /a/{y}", func(ResponseWriter, *Request) {})
	}()
	if got := slices.Collect(func(yield func(string) bool) {
		for _, r := range m.routes {
			yield(r.pattern)
		}
	}); len(got) != 1 {
		t.Fatalf("routes %v", got)
	}
}

// TestUnreadBodyKeepAlive: a handler that ignores the request body leaves
// the connection usable (the server skips the body), and one whose body
// cannot be skipped is answered with Connection: close.
func TestUnreadBodyKeepAlive(t *testing.T) {
	path := serveMini(t, miniMux())
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for i := range 3 {
		// Sent one at a time: the next request goes out only after the
		// answer, as the client does.
		fmt.Fprintf(c, "PUT /v1/processes/p/capabilities HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != StatusConflict || resp.Close {
			t.Fatalf("request %d: %d close=%v", i, resp.StatusCode, resp.Close)
		}
	}
	big := 1 << 20
	fmt.Fprintf(c, "PUT /v1/processes/p/capabilities HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", big)
	go func() { _, _ = c.Write(make([]byte, big)) }()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !resp.Close {
		t.Fatal("an unread 1 MiB body left the connection open")
	}
}

// TestShutdownClosesUnusedConnections: a connection that never sent a
// request does not hold Shutdown up until its header timeout.
func TestShutdownClosesUnusedConnections(t *testing.T) {
	ln, path := listenUnix(t)
	s := &Server{Handler: miniMux(), ReadHeaderTimeout: time.Hour}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("connection never tracked")
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the unused connection is still open")
	}
}
