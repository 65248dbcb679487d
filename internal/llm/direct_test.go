package llm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// directPair is the default client's two transports over the same
// net/http.Transport settings: net/http's own and the direct one.
func directPair(t *testing.T) (std *http.Transport, direct *directTransport) {
	t.Helper()
	std = http.DefaultTransport.(*http.Transport).Clone()
	std.MaxIdleConnsPerHost = 8
	std.WriteBufferSize = 16 << 10
	direct = newDirectTransport(std.Clone())
	t.Cleanup(func() {
		std.CloseIdleConnections()
		direct.CloseIdleConnections()
	})
	return std, direct
}

// exchange is what a client sees of an answer.
type exchange struct {
	Status        int
	Header        http.Header
	Body          string
	Trailer       http.Header
	ContentLength int64
	Chunked       bool
	Close         bool
	Err           string
}

func roundTrip(rt http.RoundTripper, method, target string, body []byte, hdr http.Header) exchange {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return exchange{Err: err.Error()}
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return exchange{Err: "error"}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	ex := exchange{Status: resp.StatusCode, Header: resp.Header.Clone(), Body: string(b), Trailer: resp.Trailer,
		ContentLength: resp.ContentLength, Chunked: slices.Contains(resp.TransferEncoding, "chunked"), Close: resp.Close}
	if err != nil {
		ex.Err = "body error"
	}
	ex.Header.Del("Date")
	// net/http asks for gzip and decompresses transparently (then drops
	// Content-Length); the direct transport never asks.
	if resp.Uncompressed {
		ex.ContentLength = int64(len(b))
		ex.Header.Del("Content-Encoding")
	}
	return ex
}

// TestDirectTransportMatchesNetHTTP sends the same requests through
// net/http's transport and the direct one to the same server: what the
// client sees is the same.
func TestDirectTransportMatchesNetHTTP(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	mux := http.NewServeMux()
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"method":%q,"len":%d,"ct":%q,"auth":%q,"ua":%q}`, r.Method, len(b), r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.Header.Get("User-Agent"))
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Trailer", "X-Done")
		for i := range 5 {
			fmt.Fprintf(w, "data: {\"i\":%d}\n\n", i)
			w.(http.Flusher).Flush()
		}
		w.Header().Set("X-Done", "yes")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big) })
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/notmod", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotModified) })
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3")
		http.Error(w, `{"error":{"message":"busy"}}`, http.StatusTooManyRequests)
	})
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	mux.HandleFunc("/early", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</x>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "after hints")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	std, direct := directPair(t)
	auth := http.Header{"Authorization": {"Bearer k"}, "User-Agent": {"weftos-test"}, "Content-Type": {"application/json"}}
	cases := []struct {
		method, path string
		body         []byte
	}{
		{"POST", "/json", []byte(`{"model":"m"}`)},
		{"POST", "/json", []byte(big)},
		{"GET", "/json", nil},
		{"POST", "/stream", []byte(`{}`)},
		{"GET", "/big", nil},
		{"HEAD", "/big", nil},
		{"GET", "/empty", nil},
		{"GET", "/notmod", nil},
		{"POST", "/fail", []byte(`{}`)},
		{"GET", "/close", nil},
		{"GET", "/early", nil},
		{"GET", "/missing", nil},
	}
	for round := range 2 { // the second round reuses pooled connections
		for _, c := range cases {
			want := roundTrip(std, c.method, srv.URL+c.path, c.body, auth)
			got := roundTrip(direct, c.method, srv.URL+c.path, c.body, auth)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("round %d, %s %s:\n direct   %+v\n net/http %+v", round, c.method, c.path, trim(got), trim(want))
			}
		}
	}
}

func trim(e exchange) exchange {
	if len(e.Body) > 200 {
		e.Body = e.Body[:200] + "…"
	}
	return e
}

// TestDirectTransportRoutes: plain http:// goes direct; https:// and
// requests a proxy applies to go to net/http's transport.
func TestDirectTransportRoutes(t *testing.T) {
	var seen atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		io.WriteString(w, "plain")
	}))
	defer plain.Close()
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "tls") }))
	defer tls.Close()
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1) // a forward proxy sees the absolute URL
		io.WriteString(w, "via proxy "+r.URL.String())
	}))
	defer proxy.Close()

	std := tls.Client().Transport.(*http.Transport).Clone()
	d := newDirectTransport(std)
	defer d.CloseIdleConnections()
	if ex := roundTrip(d, "GET", plain.URL+"/a", nil, nil); ex.Body != "plain" || d.pool(strings.TrimPrefix(plain.URL, "http://")) == nil {
		t.Fatalf("plain: %+v", ex)
	}
	if n := len(d.hosts); n != 1 {
		t.Fatalf("%d direct pools, want 1", n)
	}
	if ex := roundTrip(d, "GET", tls.URL+"/a", nil, nil); ex.Body != "tls" {
		t.Fatalf("https through net/http: %+v", ex)
	}
	pu, _ := url.Parse(proxy.URL)
	std.Proxy = func(r *http.Request) (*url.URL, error) {
		if r.URL.Path == "/via" {
			return pu, nil
		}
		return nil, nil
	}
	if ex := roundTrip(d, "GET", plain.URL+"/via", nil, nil); !strings.HasPrefix(ex.Body, "via proxy http://") || proxied.Load() != 1 {
		t.Fatalf("proxied: %+v", ex)
	}
	std.Proxy = func(*http.Request) (*url.URL, error) { return nil, errors.New("bad proxy setting") }
	if ex := roundTrip(d, "GET", plain.URL+"/a", nil, nil); ex.Err == "" {
		t.Fatalf("a proxy setting that fails must fail the request as net/http does: %+v", ex)
	}
	if len(d.hosts) != 1 || seen.Load() != 1 {
		t.Fatalf("pools %d, direct requests %d", len(d.hosts), seen.Load())
	}
}

// stalledStream is a server that sends one event and then nothing until
// the test ends or the client goes.
func stalledStream(t *testing.T) *httptest.Server {
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
	return srv
}

// TestDirectTransportCancelMidBody: ending the request's context while
// the body streams fails the read with the context's error and closes the
// connection (nothing is left running: TestMain checks for goroutines).
func TestDirectTransportCancelMidBody(t *testing.T) {
	srv := stalledStream(t)
	_, d := directPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := d.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	n, err := resp.Body.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "data: first") {
		t.Fatalf("first read: %q %v", buf[:n], err)
	}
	cancel()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel: %v, want context.Canceled", err)
	}
}

// TestDirectTransportCloseWakesRead: closing a body from another goroutine
// ends a Read waiting for data, as with net/http's transport.
func TestDirectTransportCloseWakesRead(t *testing.T) {
	srv := stalledStream(t)
	std, d := directPair(t)
	for _, rt := range []http.RoundTripper{std, d} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		if _, err := resp.Body.Read(buf); err != nil {
			t.Fatalf("%T: first read: %v", rt, err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := io.ReadAll(resp.Body)
			done <- err
		}()
		// The reader may or may not be waiting yet: both orders must end it.
		resp.Body.Close()
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("%T: read after Close succeeded", rt)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%T: Close did not end the waiting Read", rt)
		}
	}
}
