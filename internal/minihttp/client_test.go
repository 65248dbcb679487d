package minihttp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawServer answers each connection's requests with the canned answers in
// turn, then closes the connection.
func rawServer(t *testing.T, answers ...string) *Client {
	t.Helper()
	ln, path := listenUnix(t)
	serveRaw(t, ln, nil, answers...)
	return &Client{Transport: &Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
}

// serveRaw is rawServer's server, on any listener; it signals closed, if
// not nil, after closing each connection.
func serveRaw(t *testing.T, ln net.Listener, closed chan<- struct{}, answers ...string) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() {
					c.Close()
					if closed != nil {
						closed <- struct{}{}
					}
				}()
				br := bufio.NewReader(c)
				for _, a := range answers {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					if _, err := io.WriteString(c, a); err != nil {
						return
					}
				}
			}()
		}
	}()
}

func get(t *testing.T, c *Client, target string) (*Response, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := NewRequestWithContext(ctx, MethodGet, "http://weave"+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func TestClientFraming(t *testing.T) {
	for _, tc := range []struct {
		name, answer, body string
		trailer            string
		wantErr            bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "hello", "", false},
		{"close-delimited", "HTTP/1.1 200 OK\r\n\r\nuntil the end", "until the end", "", false},
		{"chunked with trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Weft-Error-Code\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nWeft-Error-Code: chain_broken\r\n\r\n", "abcde", "chain_broken", false},
		{"1xx skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "ok", "", false},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "", "", true},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "", "", true},
		{"gzip encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "", "", true},
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n", "", "", true},
	} {
		c := rawServer(t, tc.answer)
		resp, body, err := get(t, c, "/x")
		if tc.wantErr {
			if err == nil {
				t.Errorf("%s: no error (body %q)", tc.name, body)
			}
			continue
		}
		if err != nil || body != tc.body || resp.Trailer.Get("Weft-Error-Code") != tc.trailer {
			t.Errorf("%s: %q %v trailer %v", tc.name, body, err, resp.Trailer)
		}
		c.CloseIdleConnections()
	}
}

// TestClientRetriesClosedIdleConnection: the server closes a kept-alive
// connection after one answer; the next GET goes out on a new one.
func TestClientRetriesClosedIdleConnection(t *testing.T) {
	c := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	for i := range 3 {
		if _, body, err := get(t, c, "/x"); err != nil || body != "ok" {
			t.Fatalf("call %d: %q %v", i, body, err)
		}
	}
}

func TestClientDialError(t *testing.T) {
	c := &Client{Transport: &Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", "/nonexistent/weave.sock")
	}}}
	_, _, err := get(t, c, "/x")
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" || !strings.Contains(err.Error(), `Get "http://weave/x"`) {
		t.Fatalf("%v (%T)", err, err)
	}
}

// TestClientPostAfterServerClosedIdle: the server closes a kept-alive
// connection after one answer; a POST — not retried once written, as the
// server may have acted on it — must not go out on the dead connection
// but on a new one.
func TestClientPostAfterServerClosedIdle(t *testing.T) {
	// Over TCP: writing to a connection the peer closed succeeds (a Unix
	// socket would fail the write, which is retried).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{}, 8)
	serveRaw(t, ln, closed, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	c := &Client{Transport: &Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
	}}}
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, err := NewRequestWithContext(ctx, MethodPost, "http://weave/x", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			cancel()
			t.Fatalf("call %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		if err != nil || string(b) != "ok" {
			t.Fatalf("call %d: %q %v", i, b, err)
		}
		<-closed // the server has closed the connection now idle in the pool
	}
}

// TestClientIdleTimeout: a pooled connection idle longer than IdleTimeout
// is closed and a new one dialled; without it the connection is reused.
func TestClientIdleTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ok := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	serveRaw(t, ln, nil, ok, ok, ok)
	for _, tc := range []struct {
		idle  time.Duration
		dials int
	}{{0, 1}, {time.Nanosecond, 3}} {
		dials := 0
		c := &Client{Transport: &Transport{IdleTimeout: tc.idle, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			dials++
			return (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
		}}}
		for i := range 3 {
			if _, body, err := get(t, c, "/x"); err != nil || body != "ok" {
				t.Fatalf("idle %v, call %d: %q %v", tc.idle, i, body, err)
			}
		}
		c.CloseIdleConnections()
		if dials != tc.dials {
			t.Errorf("idle timeout %v: %d dials, want %d", tc.idle, dials, tc.dials)
		}
	}
}

type bytesShower interface{ Bytes() []byte }

// TestClientBodyLength: a request body shorter or longer than its declared
// ContentLength is refused before anything is sent; one of the declared
// length goes out whole.
func TestClientBodyLength(t *testing.T) {
	c := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	for _, tc := range []struct {
		body  string
		n     int64
		want  string
		shows bool // a body showing its bytes (Bytes), sent without a copy
	}{{"abc", 3, "", false}, {"abc", 5, "shorter", false}, {"abcdef", 3, "longer", false}, {"abc", -1, "", false},
		{"abc", 3, "", true}, {"abc", 5, "shorter", true}, {"abcdef", 3, "longer", true}} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var body io.ReadCloser = io.NopCloser(strings.NewReader(tc.body))
		if tc.shows {
			body = struct {
				io.ReadCloser
				bytesShower
			}{body, bytes.NewBufferString(tc.body)}
		}
		req, err := NewRequestWithContext(ctx, MethodPost, "http://weave/x", body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = tc.n
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("body %q, ContentLength %d: %v, want %q", tc.body, tc.n, err, tc.want)
		}
	}
}

// scribbledBody shows its bytes (sent without a copy) and overwrites them
// when closed, as a caller reusing the buffer would.
type scribbledBody struct {
	*bytes.Buffer
	b []byte
}

func (s scribbledBody) Close() error {
	for i := range s.b {
		s.b[i] = 'x'
	}
	return nil
}

// TestClientClosesBodyAfterSending: a request body sent from its own bytes
// is closed only once they are written, so a caller may reuse them from
// its Close on.
func TestClientClosesBodyAfterSending(t *testing.T) {
	ln, path := listenUnix(t)
	t.Cleanup(func() { ln.Close() })
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(req.Body)
		got <- string(b)
		_, _ = io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
	}()
	c := &Client{Transport: &Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	b := []byte(`{"prompt":"hello"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := NewRequestWithContext(ctx, MethodPost, "http://weave/x", scribbledBody{bytes.NewBuffer(b), b})
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(b))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := <-got; s != `{"prompt":"hello"}` {
		t.Fatalf("server got %q", s)
	}
	if string(b) != strings.Repeat("x", len(b)) {
		t.Fatalf("body not closed after the exchange: %q", b)
	}
}
