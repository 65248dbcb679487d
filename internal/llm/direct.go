package llm

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/minihttp"
)

// Transports a provider's client may use (Config.Transport).
const (
	// TransportAuto sends plain http:// requests that no proxy applies to
	// through the direct transport, and everything else (https://,
	// proxies, HTTP/2) through net/http. The default.
	TransportAuto = "auto"
	// TransportNetHTTP sends every request through net/http's transport.
	TransportNetHTTP = "net/http"
)

// directTransport is the default client's http.RoundTripper. A model
// server on the same machine or network (Ollama, vLLM, llama.cpp) is
// reached over plain HTTP/1.1; for those requests the exchange runs in the
// caller's goroutine over pooled keep-alive connections (minihttp's
// client: write the request in one system call, read the answer, stream
// the body), where net/http's transport hands every request to two
// goroutines of its connection and back. Requests over TLS, through a
// proxy, or to anything else go to net/http's transport unchanged.
type directTransport struct {
	std  *http.Transport
	dial net.Dialer
	// Per pool: connections kept idle, and for how long.
	maxIdle int
	idle    time.Duration
	wbuf    int

	mu    sync.Mutex
	hosts map[string]*minihttp.Transport // by the URL's host[:port]
}

var (
	_ http.RoundTripper = (*directTransport)(nil)
	_ interface {
		CloseIdleConnections()
	} = (*directTransport)(nil)
)

// newDirectTransport sends what it cannot carry itself through std, and
// keeps std's dialer, pool limits, idle timeout and write buffer size for
// its own connections.
func newDirectTransport(std *http.Transport) *directTransport {
	return &directTransport{std: std, maxIdle: std.MaxIdleConnsPerHost, idle: std.IdleConnTimeout, wbuf: std.WriteBufferSize,
		dial: net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}, hosts: map[string]*minihttp.Transport{}}
}

// direct reports whether req is one the direct transport carries: plain
// HTTP, no proxy configured for it, nothing net/http alone does.
func (t *directTransport) direct(req *http.Request) bool {
	if req.URL == nil || req.URL.Scheme != "http" || req.URL.Host == "" || req.URL.User != nil {
		return false
	}
	if t.std.Proxy != nil {
		if u, err := t.std.Proxy(req); err != nil || u != nil {
			return false // net/http goes through the proxy, or reports why it cannot
		}
	}
	return true
}

func (t *directTransport) pool(host string) *minihttp.Transport {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.hosts[host]
	if !ok {
		dial := t.std.DialContext // net/http's own, when std has one
		if dial == nil {
			dial = t.dial.DialContext
		}
		p = &minihttp.Transport{MaxIdleConns: t.maxIdle, IdleTimeout: t.idle, WriteBufferSize: t.wbuf, DialContext: dial}
		t.hosts[host] = p
	}
	return p
}

// RoundTrip sends req.
func (t *directTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.direct(req) {
		return t.std.RoundTrip(req)
	}
	mreq := (&minihttp.Request{Method: req.Method, URL: req.URL, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: minihttp.Header(req.Header), Body: req.Body, ContentLength: req.ContentLength, Close: req.Close, Host: req.Host}).
		WithContext(req.Context())
	if mreq.Header == nil {
		mreq.Header = minihttp.Header{}
	}
	resp, err := t.pool(req.URL.Host).RoundTrip(mreq)
	if err != nil {
		return nil, err
	}
	out := &http.Response{Status: resp.Status, StatusCode: resp.StatusCode, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor,
		ProtoMinor: resp.ProtoMinor, Header: http.Header(resp.Header), Body: resp.Body, ContentLength: resp.ContentLength,
		Close: resp.Close, Trailer: http.Header(resp.Trailer), Request: req}
	// As net/http presents an answer: the framing headers are in their
	// fields (TransferEncoding, Trailer's keys, Close), not in Header.
	// Without the chunked coding there is no trailer: the announcement
	// stays a header.
	if resp.ContentLength < 0 && hasToken(resp.Header, "Transfer-Encoding", "chunked") {
		out.TransferEncoding = []string{"chunked"}
		out.Header.Del("Trailer")
	} else {
		out.Trailer = nil
	}
	out.Header.Del("Transfer-Encoding")
	if hasToken(resp.Header, "Connection", "close") {
		out.Header.Del("Connection")
	}
	// Repeated identical lengths (minihttp refuses differing ones) are one.
	if cl := out.Header["Content-Length"]; len(cl) > 1 {
		out.Header["Content-Length"] = cl[:1]
	}
	// A body that ends with the connection closes it.
	if out.ContentLength < 0 && out.TransferEncoding == nil && req.Method != http.MethodHead &&
		out.StatusCode != http.StatusNoContent && out.StatusCode != http.StatusNotModified {
		out.Close = true
	}
	return out, nil
}

// hasToken reports whether a comma-separated header holds token.
func hasToken(h minihttp.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// CloseIdleConnections closes the idle connections of both transports.
func (t *directTransport) CloseIdleConnections() {
	t.mu.Lock()
	pools := make([]*minihttp.Transport, 0, len(t.hosts))
	for _, p := range t.hosts {
		pools = append(pools, p)
	}
	t.mu.Unlock()
	for _, p := range pools {
		p.CloseIdleConnections()
	}
	t.std.CloseIdleConnections()
}
