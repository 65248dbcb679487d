// Package inlinehttp is an http.RoundTripper that performs plain http://
// HTTP/1.1 exchanges in the caller's goroutine over pooled keep-alive
// connections, and hands everything else to net/http.
//
// net/http's transport runs two goroutines per connection (a reader and a
// writer) and hands each request and answer between them and the caller:
// every exchange wakes three goroutines. For the local model servers an
// agent host talks to (Ollama, vLLM, llama.cpp on the same machine or LAN)
// that hand-off costs about as much CPU as the exchange itself. Here the
// caller writes the request and reads the status line and headers itself;
// the response body reads from the connection, which goes back to the pool
// when the body has been read to its end and closed, and is closed
// otherwise. The HTTP/1.1 framing (status line, headers, Content-Length,
// chunked and close-delimited bodies, 1xx, HEAD/204/304) is
// internal/minihttp's client, which is fuzzed against net/http.
//
// Handed to Fallback (net/http): https and any other scheme, requests a
// proxy applies to (Proxy, by default http.ProxyFromEnvironment), protocol
// upgrades, Expect: 100-continue, request bodies of unknown length, request
// trailers and transfer encodings. Compression is never requested, so
// bodies arrive as the server sent them.
package inlinehttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/minihttp"
)

// Defaults, as net/http's DefaultTransport.
const (
	DefaultMaxIdleConnsPerHost = 2
	DefaultIdleConnTimeout     = 90 * time.Second
	// DefaultWriteBufferSize fits a request of several KiB (headers,
	// system prompt, tool schemas, history) in one system call.
	DefaultWriteBufferSize = 16 << 10
)

// Transport is an http.RoundTripper; the zero value is ready to use. Its
// fields must not change after the first request.
type Transport struct {
	// Fallback carries what this transport does not (see the package
	// doc); nil means http.DefaultTransport.
	Fallback http.RoundTripper
	// Proxy reports the proxy for a request, as http.Transport.Proxy; nil
	// means http.ProxyFromEnvironment. It is asked once per host: a host
	// with a proxy goes to Fallback.
	Proxy func(*http.Request) (*url.URL, error)
	// DialContext opens connections; nil means a net.Dialer with a 30 s
	// timeout and TCP keep-alive, as net/http's default.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxIdleConnsPerHost bounds the idle connections kept per host (0:
	// DefaultMaxIdleConnsPerHost).
	MaxIdleConnsPerHost int
	// IdleConnTimeout closes connections idle for longer (0:
	// DefaultIdleConnTimeout, negative: never).
	IdleConnTimeout time.Duration
	// WriteBufferSize sizes each connection's write buffer (0:
	// DefaultWriteBufferSize).
	WriteBufferSize int

	mu    sync.Mutex
	hosts map[string]*host
}

// host is one scheme://host:port's route: inline over pool, or Fallback.
type host struct {
	pool     *minihttp.Transport // nil: Fallback
	fallback bool
}

// ErrNoHost is returned for a request URL without a host.
var ErrNoHost = errors.New("inlinehttp: request URL has no host")

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		closeBody(req)
		return nil, errors.New("inlinehttp: request without URL")
	}
	if req.URL.Scheme != "http" || !inlineable(req) {
		return t.fallback().RoundTrip(req)
	}
	if req.URL.Host == "" {
		closeBody(req)
		return nil, ErrNoHost
	}
	h, err := t.route(req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	if h.fallback {
		return t.fallback().RoundTrip(req)
	}
	bp, err := readBody(req)
	if err != nil {
		return nil, err
	}
	var body []byte
	if bp != nil {
		body = *bp
	}
	mreq := &minihttp.Request{
		Method:        req.Method,
		URL:           req.URL,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        minihttp.Header(req.Header),
		ContentLength: int64(len(body)),
		Close:         req.Close || hasToken(req.Header["Connection"], "close"),
		Host:          req.Host,
	}
	mreq = mreq.WithContext(req.Context())
	mresp, err := h.pool.RoundTripBody(mreq, body)
	putBuf(bp)
	if err != nil {
		return nil, err
	}
	resp := &http.Response{
		Status:        mresp.Status,
		StatusCode:    mresp.StatusCode,
		Proto:         mresp.Proto,
		ProtoMajor:    mresp.ProtoMajor,
		ProtoMinor:    mresp.ProtoMinor,
		Header:        http.Header(mresp.Header),
		Body:          mresp.Body,
		ContentLength: mresp.ContentLength,
		Close:         mresp.Close,
		Trailer:       http.Header(mresp.Trailer),
		Request:       req,
	}
	normalize(resp, req.Method)
	return resp, nil
}

var chunkedTE = []string{"chunked"}

// normalize makes resp's framing fields and headers what net/http's
// transport reports for the same answer.
func normalize(resp *http.Response, method string) {
	h := resp.Header
	// The chunked coding is reported in TransferEncoding, not among the
	// headers, and so is the trailer announcement; without it there is no
	// trailer and the announcement stays a header.
	if _, ok := h["Transfer-Encoding"]; ok {
		delete(h, "Transfer-Encoding")
		resp.TransferEncoding = chunkedTE
		delete(h, "Trailer")
	} else {
		resp.Trailer = nil
	}
	// "Connection: close" is reported as Close.
	if hasToken(h["Connection"], "close") {
		delete(h, "Connection")
	}
	// Repeated identical lengths (minihttp refuses differing ones) are one.
	if cl := h["Content-Length"]; len(cl) > 1 {
		h["Content-Length"] = cl[:1]
	}
	// A body delimited by the end of the connection closes it.
	if resp.ContentLength < 0 && resp.TransferEncoding == nil && method != http.MethodHead &&
		resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified {
		resp.Close = true
	}
}

// inlineable reports whether req is a plain exchange this transport does
// itself.
func inlineable(req *http.Request) bool {
	if len(req.TransferEncoding) > 0 || len(req.Trailer) > 0 {
		return false
	}
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength <= 0 {
		return false // unknown length: net/http streams it chunked
	}
	if _, ok := req.Header["Expect"]; ok {
		return false
	}
	if _, ok := req.Header["Upgrade"]; ok {
		return false
	}
	return true
}

// route returns req's host entry, deciding once per host whether a proxy
// applies.
func (t *Transport) route(req *http.Request) (*host, error) {
	key := req.URL.Host
	t.mu.Lock()
	h := t.hosts[key]
	t.mu.Unlock()
	if h != nil {
		return h, nil
	}
	proxy := t.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	pu, err := proxy(req)
	if err != nil {
		return nil, err
	}
	h = &host{fallback: pu != nil}
	if !h.fallback {
		h.pool = t.newPool()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if prev := t.hosts[key]; prev != nil {
		return prev, nil
	}
	if t.hosts == nil {
		t.hosts = map[string]*host{}
	}
	t.hosts[key] = h
	return h, nil
}

func (t *Transport) newPool() *minihttp.Transport {
	dial := t.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	idle := t.IdleConnTimeout
	switch {
	case idle == 0:
		idle = DefaultIdleConnTimeout
	case idle < 0:
		idle = 0
	}
	p := &minihttp.Transport{
		DialContext:     dial,
		MaxIdleConns:    t.MaxIdleConnsPerHost,
		IdleConnTimeout: idle,
		WriteBufferSize: t.WriteBufferSize,
		// A request is sent again on a new connection only when the
		// reused one ended before any byte of the answer: the server
		// closed it while idle (net/http notices that from its reader
		// goroutine and does not pick the connection; there is none
		// here). A server that failed on the request itself and closed
		// without answering sees it twice, as it would from the
		// caller's own retry of a connection error.
		RetryUnanswered: true,
		UserAgent:       "Go-http-client/1.1", // as net/http
	}
	if p.MaxIdleConns <= 0 {
		p.MaxIdleConns = DefaultMaxIdleConnsPerHost
	}
	if p.WriteBufferSize <= 0 {
		p.WriteBufferSize = DefaultWriteBufferSize
	}
	return p
}

func (t *Transport) fallback() http.RoundTripper {
	if t.Fallback != nil {
		return t.Fallback
	}
	return http.DefaultTransport
}

// CloseIdleConnections closes the idle connections of this transport and
// of Fallback.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	var pools []*minihttp.Transport
	for _, h := range t.hosts {
		if h.pool != nil {
			pools = append(pools, h.pool)
		}
	}
	t.mu.Unlock()
	for _, p := range pools {
		p.CloseIdleConnections()
	}
	if c, ok := t.fallback().(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

var bufs = sync.Pool{New: func() any { return new([]byte) }}

// readBody reads req's body (ContentLength bytes) into a pooled buffer
// and closes it; putBuf returns the buffer.
func readBody(req *http.Request) (*[]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	bp := bufs.Get().(*[]byte)
	if int64(cap(*bp)) < req.ContentLength {
		*bp = make([]byte, req.ContentLength)
	}
	*bp = (*bp)[:req.ContentLength]
	if _, err := io.ReadFull(req.Body, *bp); err != nil {
		putBuf(bp)
		return nil, fmt.Errorf("inlinehttp: reading request body: %w", err)
	}
	var one [1]byte
	if n, _ := req.Body.Read(one[:]); n > 0 {
		putBuf(bp)
		return nil, fmt.Errorf("inlinehttp: request body longer than its ContentLength %d", req.ContentLength)
	}
	return bp, nil
}

func putBuf(bp *[]byte) {
	if bp == nil || cap(*bp) > 1<<20 {
		return
	}
	*bp = (*bp)[:0]
	bufs.Put(bp)
}

// hasToken reports whether a comma-separated header value list holds
// token (case-insensitive).
func hasToken(vs []string, token string) bool {
	for _, v := range vs {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return true
			}
		}
	}
	return false
}
