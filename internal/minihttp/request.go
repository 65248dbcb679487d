package minihttp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// Request is an HTTP request: received by a server or sent by a client.
type Request struct {
	Method        string
	URL           *url.URL
	Proto         string // "HTTP/1.1"
	ProtoMajor    int
	ProtoMinor    int
	Header        Header
	Body          io.ReadCloser
	ContentLength int64 // -1: unknown (client side only)
	Close         bool  // the connection closes after this exchange
	Host          string
	RemoteAddr    string
	RequestURI    string // as received; "" for client requests
	Pattern       string // the mux pattern that matched
	ctx           context.Context
	pathValues    map[string]string
}

// Context returns the request's context: for a server, it ends when the
// client goes away, the handler returns or the server closes.
func (r *Request) Context() context.Context {
	if r.ctx != nil {
		return r.ctx
	}
	return context.Background()
}

// WithContext returns a shallow copy of r with ctx.
func (r *Request) WithContext(ctx context.Context) *Request {
	if ctx == nil {
		panic("minihttp: nil Context")
	}
	r2 := *r
	r2.ctx = ctx
	return &r2
}

// Clone returns a copy of r with ctx and its own Header, URL and path values.
func (r *Request) Clone(ctx context.Context) *Request {
	r2 := r.WithContext(ctx)
	r2.Header = r.Header.Clone()
	if r.URL != nil {
		u := *r.URL
		r2.URL = &u
	}
	if r.pathValues != nil {
		r2.pathValues = make(map[string]string, len(r.pathValues))
		for k, v := range r.pathValues {
			r2.pathValues[k] = v
		}
	}
	return r2
}

// PathValue returns the value of the pattern wildcard name, or "".
func (r *Request) PathValue(name string) string { return r.pathValues[name] }

// SetPathValue sets the wildcard name's value.
func (r *Request) SetPathValue(name, value string) {
	if r.pathValues == nil {
		r.pathValues = map[string]string{}
	}
	r.pathValues[name] = value
}

// NewRequestWithContext returns a client request. A body of type
// *bytes.Reader, *bytes.Buffer or *strings.Reader gets its Content-Length;
// another body is sent close-delimited is not supported: its length must be
// set by the caller.
func NewRequestWithContext(ctx context.Context, method, target string, body io.Reader) (*Request, error) {
	if ctx == nil {
		return nil, errors.New("minihttp: nil Context")
	}
	if method == "" {
		method = MethodGet
	}
	if !validMethod(method) {
		return nil, fmt.Errorf("minihttp: invalid method %q", method)
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	r := &Request{Method: method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: Header{}, Host: u.Host, ctx: ctx}
	if body != nil {
		switch b := body.(type) {
		case *bytes.Reader:
			r.ContentLength = int64(b.Len())
		case *bytes.Buffer:
			r.ContentLength = int64(b.Len())
		case *strings.Reader:
			r.ContentLength = int64(b.Len())
		default:
			r.ContentLength = -1
		}
		rc, ok := body.(io.ReadCloser)
		if !ok {
			rc = io.NopCloser(body)
		}
		r.Body = rc
		if r.ContentLength == 0 {
			r.Body = nil
		}
	}
	return r, nil
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if !isToken(m[i]) {
			return false
		}
	}
	return true
}

// Limits on what a peer may send.
const (
	// DefaultMaxHeaderBytes bounds a request's or response's line and
	// headers together.
	DefaultMaxHeaderBytes = 1 << 20
	maxHeaderLines        = 1000
)

// protocolError is a malformed message: the server answers status and
// closes.
type protocolError struct {
	status int
	msg    string
}

func (e *protocolError) Error() string { return "minihttp: " + e.msg }

func badRequest(format string, a ...any) error {
	return &protocolError{status: StatusBadRequest, msg: fmt.Sprintf(format, a...)}
}

// errHeaderTooLarge is a line or header block over the limit.
var errHeaderTooLarge = &protocolError{status: StatusRequestHeaderFieldsTooLarge, msg: "header too large"}

// lineReader reads CRLF (or bare LF) terminated lines within a byte budget.
type lineReader struct {
	br     *bufio.Reader
	budget int
	crlf   bool // a bare LF is an error (a chunked body's trailer)
}

// errBareLF is a line of a chunked body's trailer ending in a bare LF,
// which net/http refuses too.
var errBareLF = errors.New("minihttp: line ends in a bare LF")

func (l *lineReader) line() (string, error) {
	var arr [256]byte
	b, err := l.appendLine(arr[:0])
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// appendLine appends the next line, without its line ending, to dst.
func (l *lineReader) appendLine(dst []byte) ([]byte, error) {
	start := len(dst)
	for {
		frag, err := l.br.ReadSlice('\n')
		l.budget -= len(frag)
		if l.budget < 0 {
			return dst, errHeaderTooLarge
		}
		dst = append(dst, frag...)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			if err == io.EOF && len(dst) > start {
				err = io.ErrUnexpectedEOF
			}
			return dst, err
		}
	}
	dst = dst[:len(dst)-1]
	if l.crlf && (len(dst) == start || dst[len(dst)-1] != '\r') {
		return dst, errBareLF
	}
	if n := len(dst); n > start && dst[n-1] == '\r' {
		dst = dst[:n-1]
	}
	return dst, nil
}

// headers reads header lines up to the empty line. Obsolete line folding
// and malformed names are errors. The lines are read into one buffer and
// made one string: names and values are parts of it, and the names'
// first values share one backing array.
func (l *lineReader) headers() (Header, error) {
	var (
		arr   [2048]byte
		block = arr[:0]
		ends  = make([]int, 0, 32) // where each line ends in block
		n     int
	)
	for ; ; n++ {
		start := len(block)
		var err error
		if block, err = l.appendLine(block); err != nil {
			return nil, err
		}
		if len(block) == start {
			break
		}
		if n >= maxHeaderLines {
			return nil, errHeaderTooLarge
		}
		if block[start] == ' ' || block[start] == '\t' {
			return nil, badRequest("folded header line")
		}
		ends = append(ends, len(block))
	}
	if n == 0 {
		return Header{}, nil
	}
	all := string(block)
	h := make(Header, n)
	vals := make([]string, n)
	from := 0
	for i, end := range ends {
		line := all[from:end]
		from = end
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" {
			return nil, badRequest("malformed header line %q", truncate(line))
		}
		for i := 0; i < len(k); i++ {
			if !isToken(k[i]) {
				return nil, badRequest("invalid header name %q", truncate(k))
			}
		}
		v = strings.Trim(v, " \t")
		if !validValue(v) {
			return nil, badRequest("invalid header value for %q", k)
		}
		k = CanonicalHeaderKey(k)
		if prev, ok := h[k]; ok {
			h[k] = append(prev, v)
			continue
		}
		vals[i] = v
		h[k] = vals[i : i+1 : i+1]
	}
	return h, nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// parseVersion parses "HTTP/1.x".
func parseVersion(v string) (major, minor int, ok bool) {
	switch v {
	case "HTTP/1.1":
		return 1, 1, true
	case "HTTP/1.0":
		return 1, 0, true
	}
	return 0, 0, false
}

// contentLength parses the Content-Length values of h: -1 when absent;
// several differing values, a sign or a non-number are errors.
func contentLength(h Header) (int64, error) {
	vs := h["Content-Length"]
	if len(vs) == 0 {
		return -1, nil
	}
	first := strings.TrimSpace(vs[0])
	for _, v := range vs[1:] {
		if strings.TrimSpace(v) != first {
			return 0, badRequest("conflicting Content-Length values")
		}
	}
	if first == "" || first[0] < '0' || first[0] > '9' {
		return 0, badRequest("invalid Content-Length %q", truncate(first))
	}
	n, err := strconv.ParseInt(first, 10, 64)
	if err != nil {
		return 0, badRequest("invalid Content-Length %q", truncate(first))
	}
	return n, nil
}

// readRequest parses a request line and headers from br, within maxHeader
// bytes. The body is left to the caller: ContentLength is the declared
// length (0 when absent); a Transfer-Encoding is refused with 501.
func readRequest(br *bufio.Reader, maxHeader int) (*Request, error) {
	lr := &lineReader{br: br, budget: maxHeader}
	line, err := lr.line()
	if err != nil {
		return nil, err
	}
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || strings.Contains(proto, " ") {
		return nil, badRequest("malformed request line %q", truncate(line))
	}
	if !validMethod(method) {
		return nil, badRequest("invalid method %q", truncate(method))
	}
	major, minor, ok := parseVersion(proto)
	if !ok {
		return nil, &protocolError{status: 505, msg: fmt.Sprintf("unsupported protocol %q", truncate(proto))}
	}
	if target == "" || target[0] != '/' {
		return nil, badRequest("request target %q is not an absolute path", truncate(target))
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, badRequest("invalid request target %q", truncate(target))
	}
	h, err := lr.headers()
	if err != nil {
		return nil, err
	}
	r := &Request{Method: method, URL: u, Proto: proto, ProtoMajor: major, ProtoMinor: minor, Header: h, RequestURI: target}
	hosts := h["Host"]
	if len(hosts) > 1 || (len(hosts) == 0 && minor == 1) {
		return nil, badRequest("missing or repeated Host header")
	}
	r.Host = h.Get("Host")
	if _, ok := h["Transfer-Encoding"]; ok {
		return nil, &protocolError{status: StatusNotImplemented, msg: "request Transfer-Encoding is not supported; send Content-Length"}
	}
	if h.Get("Expect") != "" {
		return nil, &protocolError{status: 417, msg: "Expect is not supported"}
	}
	n, err := contentLength(h)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		n = 0
	}
	r.ContentLength = n
	r.Close = wantsClose(major, minor, h)
	return r, nil
}

// wantsClose reports whether a message's Connection header (or its
// HTTP/1.0 default) ends the connection after it.
func wantsClose(major, minor int, h Header) bool {
	for _, v := range h["Connection"] {
		for _, t := range strings.Split(v, ",") {
			switch strings.ToLower(strings.TrimSpace(t)) {
			case "close":
				return true
			case "keep-alive":
				if minor == 0 {
					return false
				}
			}
		}
	}
	return major == 1 && minor == 0
}
