package inlinehttp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The differential tests send the same requests through net/http's
// transport and through this one to the same servers and compare what the
// caller sees: status, headers, framing fields, body, trailer, errors.

// clients returns a net/http client and an inline one, both closed at the
// end of the test.
func clients(t testing.TB) (std, inline *http.Client) {
	stdT := &http.Transport{DisableCompression: true, Proxy: nil}
	inT := &Transport{Fallback: stdT, Proxy: noProxy, MaxIdleConnsPerHost: 64}
	std, inline = &http.Client{Transport: stdT}, &http.Client{Transport: inT}
	t.Cleanup(func() {
		std.CloseIdleConnections()
		inline.CloseIdleConnections()
	})
	return std, inline
}

func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

// outcome is what a caller sees of one exchange.
type outcome struct {
	Status, Proto    string
	Code             int
	Header, Trailer  http.Header
	ContentLength    int64
	TransferEncoding []string
	Close            bool
	Body             string
	Err, BodyErr     bool
}

func do(t testing.TB, c *http.Client, req *http.Request) outcome {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		return outcome{Err: true}
	}
	defer resp.Body.Close()
	b, berr := io.ReadAll(resp.Body)
	h := resp.Header.Clone()
	h.Del("Date")
	tr := resp.Trailer
	if len(tr) == 0 {
		tr = nil
	}
	return outcome{Status: resp.Status, Proto: resp.Proto, Code: resp.StatusCode, Header: h, Trailer: tr,
		ContentLength: resp.ContentLength, TransferEncoding: resp.TransferEncoding, Close: resp.Close,
		Body: string(b), BodyErr: berr != nil}
}

func newReq(t testing.TB, method, u string, body []byte, hdr ...string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return req
}

// handler serves the differential cases by path.
func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/plain", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		io.WriteString(w, `{"ok":true,"q":"`+r.URL.RawQuery+`"}`)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Len", strconv.Itoa(len(b)))
		w.Header().Set("X-UA", r.Header.Get("User-Agent"))
		w.Header().Set("X-Custom", strings.Join(r.Header.Values("X-Custom"), "|"))
		w.Write(b)
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 5 {
			fmt.Fprintf(w, "data: {\"n\":%d}\n\n", i)
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, "data: [DONE]\n\n")
	})
	mux.HandleFunc("/trailer", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		io.WriteString(w, "part one,")
		w.(http.Flusher).Flush()
		io.WriteString(w, "part two")
		w.Header().Set("X-Sum", "42")
	})
	mux.HandleFunc("/large", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		w.Write(largeBody(n))
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(code)
		io.WriteString(w, `{"error":{"message":"no"}}`)
	})
	mux.HandleFunc("/early-hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "after hints")
	})
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/plain?from=redirect", http.StatusFound)
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {})
	return mux
}

func largeBody(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

func TestDifferential(t *testing.T) {
	srv := httptest.NewServer(handler())
	t.Cleanup(srv.Close)
	std, inline := clients(t)
	big := largeBody(1 << 20)
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   []byte
		hdr    []string
	}{
		{"get", "GET", "/plain?x=1&y=%20", nil, nil},
		{"post", "POST", "/echo", []byte(`{"model":"m","messages":[]}`), []string{"Content-Type", "application/json", "X-Custom", "a", "X-Custom", "b", "User-Agent", "weftos-llm/1"}},
		{"post empty", "POST", "/echo", []byte{}, nil},
		{"post 1 MiB", "POST", "/echo", big, nil},
		{"put", "PUT", "/echo", []byte("x"), nil},
		{"delete", "DELETE", "/echo", nil, nil},
		{"sse chunked", "POST", "/chunked", []byte("{}"), []string{"Accept", "text/event-stream"}},
		{"trailer", "GET", "/trailer", nil, nil},
		{"large content-length", "GET", "/large?n=5000000", nil, nil},
		{"large chunked", "GET", "/large?n=3000000&chunked=1", nil, nil},
		{"head", "HEAD", "/large?n=100", nil, nil},
		{"204", "GET", "/status?code=204", nil, nil},
		{"304", "GET", "/status?code=304", nil, nil},
		{"404", "GET", "/status?code=404", nil, nil},
		{"429", "POST", "/status?code=429", []byte("{}"), nil},
		{"500", "GET", "/status?code=500", nil, nil},
		{"1xx then 200", "GET", "/early-hints", nil, nil},
		{"server Connection: close", "GET", "/close", nil, nil},
		{"client Connection: close", "GET", "/plain", nil, []string{"Connection", "close"}},
		{"redirect", "GET", "/redirect", nil, nil},
		{"empty", "GET", "/empty", nil, nil},
		{"not found", "GET", "/nowhere", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Twice each: the second exchange goes over a pooled
			// connection where one was kept.
			for i := range 2 {
				want := do(t, std, newReq(t, tc.method, srv.URL+tc.path, tc.body, tc.hdr...))
				got := do(t, inline, newReq(t, tc.method, srv.URL+tc.path, tc.body, tc.hdr...))
				if want.Err || want.BodyErr {
					t.Fatalf("net/http failed: %+v", want)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("exchange %d:\nnet/http %+v\ninline   %+v", i, short(want), short(got))
				}
			}
		})
	}
}

func short(o outcome) outcome {
	if len(o.Body) > 200 {
		o.Body = o.Body[:200] + fmt.Sprintf("… (%d bytes)", len(o.Body))
	}
	return o
}

// rawServer accepts connections and hands each to serve; it counts them.
type rawServer struct {
	ln    net.Listener
	conns atomic.Int32
	wg    sync.WaitGroup
}

func newRawServer(t testing.TB, serve func(c net.Conn, br *bufio.Reader)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() }

// TestRawAnswers compares the two transports on answers net/http's server
// does not write: close-delimited bodies, HTTP/1.0, bad framing.
func TestRawAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
	}{
		{"close-delimited", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"},
		{"http/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"},
		{"http/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{"no reason", "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"},
		{"cut chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
		{"chunk extension", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\n"},
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n"},
		{"not http", "SSH-2.0-OpenSSH\r\n\r\n"},
		{"nothing", ""},
		{"two content-lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
		{"same content-lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab"},
		{"204 with length", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"},
		{"header without colon", "HTTP/1.1 200 OK\r\nBroken\r\nContent-Length: 2\r\n\r\nok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				io.WriteString(c, tc.answer)
			})
			std, inline := clients(t)
			want := do(t, std, newReq(t, "GET", srv.url()+"/", nil))
			got := do(t, inline, newReq(t, "GET", srv.url()+"/", nil))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("\nnet/http %+v\ninline   %+v", want, got)
			}
		})
	}
}

// TestServerClosedIdle: the server closes a kept-alive connection after
// its answer; the next request goes over a new connection and succeeds.
func TestServerClosedIdle(t *testing.T) {
	closed := make(chan struct{}, 4)
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		b, _ := io.ReadAll(req.Body)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(b), b)
		c.Close()
		closed <- struct{}{}
	})
	_, inline := clients(t)
	for i := range 3 {
		body := []byte(fmt.Sprintf(`{"n":%d}`, i))
		o := do(t, inline, newReq(t, "POST", srv.url()+"/", body))
		if o.Err || o.BodyErr || o.Body != string(body) {
			t.Fatalf("request %d: %+v", i, o)
		}
		<-closed
	}
	if n := srv.conns.Load(); n < 3 {
		t.Fatalf("%d connections for 3 requests on a server that closes each", n)
	}
}

// TestUnansweredFresh: a server that reads a request and closes the fresh
// connection without answering is an error, not retried.
func TestUnansweredFresh(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		http.ReadRequest(br)
	})
	std, inline := clients(t)
	want := do(t, std, newReq(t, "POST", srv.url()+"/", []byte("x")))
	got := do(t, inline, newReq(t, "POST", srv.url()+"/", []byte("x")))
	if !want.Err || !got.Err {
		t.Fatalf("net/http %+v, inline %+v: want errors", want, got)
	}
	if n := srv.conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (one per transport, no retry)", n)
	}
}

// TestReuse: sequential exchanges share one connection, an unread body
// closes its connection instead of returning it.
func TestReuse(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(handler())
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	_, inline := clients(t)
	for range 10 {
		if o := do(t, inline, newReq(t, "POST", srv.URL+"/chunked", []byte("{}"))); o.Err || o.BodyErr {
			t.Fatal(o)
		}
		if o := do(t, inline, newReq(t, "GET", srv.URL+"/plain", nil)); o.Err || o.BodyErr {
			t.Fatal(o)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 20 sequential exchanges, want 1", n)
	}
	resp, err := inline.Get(srv.URL + "/large?n=100000")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Read(make([]byte, 10))
	resp.Body.Close()
	if o := do(t, inline, newReq(t, "GET", srv.URL+"/plain", nil)); o.Err || o.BodyErr {
		t.Fatal(o)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2: a half-read body's connection is not reused", n)
	}
}

// TestCancel: ending the context before the headers and in the middle of
// a streamed body ends the exchange with the context's error, as net/http.
func TestCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/mid" {
			io.WriteString(w, "data: first\n\n")
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	std, inline := clients(t)
	for _, c := range []struct {
		name string
		hc   *http.Client
	}{{"net/http", std}, {"inline", inline}} {
		t.Run(c.name+"/before headers", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			req := newReq(t, "POST", srv.URL+"/head", []byte("{}")).WithContext(ctx)
			_, err := c.hc.Do(req)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want deadline exceeded", err)
			}
		})
		t.Run(c.name+"/mid body", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req := newReq(t, "POST", srv.URL+"/mid", []byte("{}")).WithContext(ctx)
			resp, err := c.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			buf := make([]byte, 64)
			n, err := resp.Body.Read(buf)
			if err != nil || string(buf[:n]) != "data: first\n\n" {
				t.Fatalf("first read %q, %v", buf[:n], err)
			}
			cancel()
			_, err = io.ReadAll(resp.Body)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("read after cancel: %v, want context.Canceled", err)
			}
		})
		t.Run(c.name+"/client timeout", func(t *testing.T) {
			hc := *c.hc
			hc.Timeout = 50 * time.Millisecond
			_, err := hc.Do(newReq(t, "GET", srv.URL+"/head", nil))
			var ue *url.Error
			if !errors.As(err, &ue) || !ue.Timeout() {
				t.Fatalf("err = %v, want a timeout", err)
			}
		})
	}
}

// TestConcurrent: many goroutines share the pool; each gets its own answer.
func TestConcurrent(t *testing.T) {
	srv := httptest.NewServer(handler())
	t.Cleanup(srv.Close)
	_, inline := clients(t)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				body := fmt.Sprintf("g%d-i%d", g, i)
				o := do(t, inline, newReq(t, "POST", srv.URL+"/echo", []byte(body)))
				if o.Err || o.BodyErr || o.Body != body {
					errs <- fmt.Errorf("%s: %+v", body, o)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// recorder is a Fallback that records what it is given.
type recorder struct {
	mu   sync.Mutex
	urls []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls = append(r.urls, req.URL.String())
	r.mu.Unlock()
	if req.Body != nil {
		req.Body.Close()
	}
	return &http.Response{StatusCode: 299, Body: http.NoBody, Request: req}, nil
}

// TestFallback: what the inline path does not do goes to Fallback.
func TestFallback(t *testing.T) {
	srv := httptest.NewServer(handler())
	t.Cleanup(srv.Close)
	proxied := "proxied.test:80"
	rec := &recorder{}
	tr := &Transport{Fallback: rec, Proxy: func(r *http.Request) (*url.URL, error) {
		if r.URL.Host == proxied {
			return url.Parse("http://proxy.test:3128")
		}
		return nil, nil
	}}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}
	for _, tc := range []struct {
		name     string
		req      *http.Request
		fallback bool
	}{
		{"plain http", newReq(t, "GET", srv.URL+"/plain", nil), false},
		{"https", newReq(t, "GET", "https://example.test/x", nil), true},
		{"proxied host", newReq(t, "GET", "http://"+proxied+"/x", nil), true},
		{"upgrade", newReq(t, "GET", srv.URL+"/plain", nil, "Upgrade", "websocket", "Connection", "Upgrade"), true},
		{"expect", newReq(t, "POST", srv.URL+"/echo", []byte("x"), "Expect", "100-continue"), true},
		{"unknown length", func() *http.Request {
			r := newReq(t, "POST", srv.URL+"/echo", nil)
			r.Body = io.NopCloser(strings.NewReader("streamed"))
			r.ContentLength = -1
			return r
		}(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(rec.urls)
			resp, err := hc.Do(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if got := len(rec.urls) > before; got != tc.fallback {
				t.Fatalf("fallback used = %v, want %v (status %d)", got, tc.fallback, resp.StatusCode)
			}
		})
	}
}

// TestCloseWakesRead: closing a body from another goroutine ends a Read
// waiting for data, as with net/http, and the connection is not reused.
func TestCloseWakesRead(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	std, inline := clients(t)
	for _, c := range []struct {
		name string
		hc   *http.Client
	}{{"net/http", std}, {"inline", inline}} {
		t.Run(c.name, func(t *testing.T) {
			resp, err := c.hc.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 64)
			if _, err := resp.Body.Read(buf); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := io.ReadAll(resp.Body)
				done <- err
			}()
			// Close whether or not the reader is already waiting: both
			// orders must end it.
			resp.Body.Close()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("read after Close succeeded")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Close did not end the waiting Read")
			}
		})
	}
}
