package minihttp

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzReadRequest: parsing never panics, and a request minihttp accepts
// net/http accepts too, with the same method, target, host and length
// (minihttp is the stricter of the two).
func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		"GET /v1/status HTTP/1.1\r\nHost: weave\r\n\r\n",
		"POST /v1/processes HTTP/1.1\r\nHost: weave\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}",
		"GET /v1/x?topic=a%20b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET /\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := readRequest(bufio.NewReader(bytes.NewReader(data)), 4096)
		if err != nil {
			return
		}
		if !validMethod(r.Method) || r.ContentLength < 0 || r.URL == nil || r.URL.Path == "" || r.URL.Path[0] != '/' {
			t.Fatalf("accepted %+v", r)
		}
		std, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			t.Fatalf("minihttp accepted what net/http refuses (%v): %q", err, data)
		}
		stdLen := std.ContentLength
		if stdLen < 0 {
			stdLen = 0
		}
		if std.Method != r.Method || std.RequestURI != r.RequestURI || std.Host != r.Host || stdLen != r.ContentLength {
			t.Fatalf("disagreement on %q: net/http %s %s %s %d, minihttp %s %s %s %d", data,
				std.Method, std.RequestURI, std.Host, std.ContentLength, r.Method, r.RequestURI, r.Host, r.ContentLength)
		}
	})
}

// FuzzReadResponse: parsing a response and its body never panics, and a
// response whose body minihttp reads completely net/http reads the same
// bytes and trailer from.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Weft-Error-Code\r\n\r\n3\r\nabc\r\n0\r\nWeft-Error-Code: x\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\n\r\nclose-delimited",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
		"HTTP/1.0 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"HTTP/1.1 200 OK\r\nSet-Cookie: a\r\nx-weft: \t1 \r\nset-cookie: b\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req := &Request{Method: MethodGet}
		br := bufio.NewReader(bytes.NewReader(data))
		resp, err := readResponse(br, req)
		if err != nil {
			return
		}
		var body io.Reader
		switch {
		case !bodyAllowed(resp.StatusCode):
			body = eofReader{}
		case hasToken(resp.Header, "Transfer-Encoding", "chunked"):
			if resp.Trailer == nil {
				resp.Trailer = Header{}
			}
			body = &chunkedReader{br: br, trailer: resp.Trailer}
		case resp.ContentLength >= 0:
			body = io.LimitReader(br, resp.ContentLength)
		default:
			body = br
		}
		got, err := io.ReadAll(io.LimitReader(body, 1<<20))
		if err != nil || resp.StatusCode < 200 {
			return
		}
		if resp.ContentLength > 0 && int64(len(got)) != resp.ContentLength {
			return // truncated: both report it differently
		}
		std, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), nil)
		if err != nil {
			if strings.Contains(string(data), "HTTP/1.1 1") {
				return // net/http returns the 1xx itself
			}
			t.Fatalf("minihttp read what net/http refuses (%v): %q", err, data)
		}
		if std.StatusCode < 200 {
			return // net/http hands the 1xx itself to its caller
		}
		want, err := io.ReadAll(io.LimitReader(std.Body, 1<<20))
		if err != nil {
			return
		}
		if std.StatusCode != resp.StatusCode || !bytes.Equal(want, got) {
			t.Fatalf("disagreement on %q: net/http %d %q, minihttp %d %q", data, std.StatusCode, want, resp.StatusCode, got)
		}
		for k, v := range resp.Header {
			if k == "Transfer-Encoding" || k == "Trailer" {
				continue // net/http moves them out of the header
			}
			if !slices.Equal(v, std.Header[k]) {
				t.Fatalf("header %s: net/http %q, minihttp %q", k, std.Header[k], v)
			}
		}
		for k := range resp.Trailer {
			if resp.Trailer.Get(k) != std.Trailer.Get(k) {
				t.Fatalf("trailer %s: net/http %q, minihttp %q", k, std.Trailer.Get(k), resp.Trailer.Get(k))
			}
		}
	})
}

// FuzzServer: arbitrary bytes on a server connection never crash the
// server; it answers or closes.
func FuzzServer(f *testing.F) {
	f.Add([]byte("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/big HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST /v1/processes/p/stop HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabc"))
	f.Add([]byte("GET /v1/stream/fail HTTP/1.0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := pipe()
		s := &Server{Handler: miniMux()}
		c := &conn{srv: s, rwc: a}
		s.track(c)
		done := make(chan struct{})
		go func() { defer close(done); c.serve() }()
		go func() { _, _ = b.Write(data); _ = b.CloseWrite() }()
		_, _ = io.Copy(io.Discard, b)
		<-done
	})
}

// pipe returns a connected pair of Unix stream sockets (half-close works,
// unlike net.Pipe).
func pipe() (net.Conn, *net.UnixConn) {
	dir, err := os.MkdirTemp("", "minihttp")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	cc, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		panic(err)
	}
	return sc, cc.(*net.UnixConn)
}
