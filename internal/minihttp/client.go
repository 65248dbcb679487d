package minihttp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Response is a client's answer.
type Response struct {
	Status        string // "200 OK"
	StatusCode    int
	Proto         string
	ProtoMajor    int
	ProtoMinor    int
	Header        Header
	Body          io.ReadCloser // never nil
	ContentLength int64         // -1: unknown
	Trailer       Header        // filled when a chunked body has been read to its end
	Close         bool
	Request       *Request
}

// Transport dials one kind of connection and keeps idle ones for reuse.
type Transport struct {
	// DialContext opens a connection; network is "tcp" and addr the
	// request's host:port, which a Unix-socket dialer ignores.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// DisableCompression is accepted for net/http parity; this client
	// never asks for compression.
	DisableCompression bool
	// MaxIdleConns bounds the idle pool (0: 2).
	MaxIdleConns int
	// WriteBufferSize is the size of a connection's write buffer (0: 4
	// KiB): a request whose line, headers and body fit goes out in one
	// system call.
	WriteBufferSize int
	// IdleTimeout closes a pooled connection unused for this long, when
	// the pool is next used (0: kept until the server closes it).
	IdleTimeout time.Duration

	mu   sync.Mutex
	idle []*clientConn
}

// Client sends requests through its Transport.
type Client struct {
	Transport *Transport
}

// CloseIdleConnections closes the pooled connections.
func (c *Client) CloseIdleConnections() {
	if c.Transport != nil {
		c.Transport.CloseIdleConnections()
	}
}

// CloseIdleConnections closes the pooled connections.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, pc := range idle {
		_ = pc.c.Close()
	}
}

type clientConn struct {
	t         *Transport
	c         net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
}

// Do sends req and returns the answer; a non-2xx status is not an error.
// The caller must close the Body. Ending req's context aborts the exchange,
// including reading the Body.
func (c *Client) Do(req *Request) (*Response, error) {
	if c.Transport == nil {
		return nil, errors.New("minihttp: client without a Transport")
	}
	resp, err := c.Transport.RoundTrip(req)
	if err != nil && req.URL != nil {
		return nil, fmt.Errorf("%s %q: %w", strings.ToUpper(req.Method[:1])+strings.ToLower(req.Method[1:]), req.URL.String(), err)
	}
	return resp, err
}

// RoundTrip sends req and returns the answer, as Client.Do does, without
// naming the request in its errors (a caller wrapping them, as net/http's
// Client does for a RoundTripper, names it).
func (t *Transport) RoundTrip(req *Request) (*Response, error) {
	if t.DialContext == nil {
		return nil, errors.New("minihttp: Transport without DialContext")
	}
	if req.URL == nil {
		return nil, errors.New("minihttp: request without URL")
	}
	return t.roundTrip(req)
}

func (t *Transport) roundTrip(req *Request) (*Response, error) {
	ctx := req.Context()
	var body []byte
	if req.Body != nil {
		var err error
		body, err = readBody(req.Body, req.ContentLength)
		// Closed once the request is written: body may be the caller's
		// own bytes (readBody), which Close lets them reuse.
		defer req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("minihttp: reading request body: %w", err)
		}
		if req.ContentLength > 0 && int64(len(body)) != req.ContentLength {
			return nil, fmt.Errorf("minihttp: request body is %d bytes, ContentLength says %d", len(body), req.ContentLength)
		}
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pc, reused, err := t.getConn(ctx, req)
		if err != nil {
			return nil, err
		}
		resp, err := pc.exchange(ctx, req, body)
		if err == nil {
			return resp, nil
		}
		_ = pc.c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var retry *retryableError
		if reused && attempt == 0 && errors.As(err, &retry) && (retry.unwritten || idempotent(req.Method)) {
			continue // the server had closed the idle connection
		}
		return nil, err
	}
}

// readBody reads a request body whole (an exchange retried on a new
// connection sends it again): in one buffer of the declared size when
// there is one, or as the body's own bytes when it shows them.
func readBody(r io.Reader, n int64) ([]byte, error) {
	if bb, ok := r.(interface{ Bytes() []byte }); ok && n >= 0 && int64(len(bb.Bytes())) == n {
		// A body that shows its unread bytes (a *bytes.Buffer, the LLM
		// client's requests) is sent from them, not copied. Not consumed:
		// the caller's body is closed, not read, after the exchange.
		return bb.Bytes(), nil
	}
	if n <= 0 || n > 1<<30 {
		return io.ReadAll(r)
	}
	b := make([]byte, n, n+1)
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("minihttp: request body is shorter than its ContentLength %d", n)
		}
		return nil, err
	}
	// One byte more than declared is an error too (as net/http reports).
	if m, _ := r.Read(b[n : n+1]); m > 0 {
		return nil, fmt.Errorf("minihttp: request body is longer than its ContentLength %d", n)
	}
	return b, nil
}

func idempotent(m string) bool {
	return m == MethodGet || m == MethodHead || m == MethodPut || m == MethodDelete
}

// retryableError is a failure before any byte of the answer arrived.
type retryableError struct {
	err       error
	unwritten bool // the request was not written either
}

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

func (t *Transport) getConn(ctx context.Context, req *Request) (*clientConn, bool, error) {
	for {
		t.mu.Lock()
		n := len(t.idle)
		if n == 0 {
			t.mu.Unlock()
			break
		}
		pc := t.idle[n-1] // the most recently used
		t.idle = t.idle[:n-1]
		var stale []*clientConn
		if t.IdleTimeout > 0 && time.Since(pc.idleSince) > t.IdleTimeout {
			// It and every one idle before it: none is used again.
			stale, t.idle = append(t.idle, pc), nil
		}
		t.mu.Unlock()
		for _, s := range stale {
			_ = s.c.Close()
		}
		if stale == nil && pc.alive() {
			return pc, true, nil
		}
		if stale == nil {
			_ = pc.c.Close()
		}
	}
	host := req.URL.Host
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "80")
	}
	c, err := t.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, false, err
	}
	wsize := t.WriteBufferSize
	if wsize <= 0 {
		wsize = 4096
	}
	return &clientConn{t: t, c: c, br: bufio.NewReaderSize(c, 4096), bw: bufio.NewWriterSize(c, wsize)}, false, nil
}

// alive checks an idle connection without blocking: the server may have
// closed it (idle timeout, shutdown) since it was put back. A request
// written to such a TCP connection still "succeeds", and its answer is an
// EOF that a POST must not be retried on (the server may have acted on
// it), so the check looks at the socket itself where it can.
func (pc *clientConn) alive() bool {
	if pc.br.Buffered() > 0 {
		return false // unsolicited bytes: not a usable connection
	}
	if gone, ok := peerGone(pc.c); ok {
		return !gone
	}
	_ = pc.c.SetReadDeadline(aLongTimeAgo)
	_, err := pc.br.Peek(1)
	_ = pc.c.SetReadDeadline(time.Time{})
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (t *Transport) putIdle(pc *clientConn) {
	max := t.MaxIdleConns
	if max <= 0 {
		max = 2
	}
	now := time.Now()
	pc.idleSince = now
	var drop []*clientConn
	t.mu.Lock()
	if t.IdleTimeout > 0 {
		// The pool is ordered by idleSince: the stale ones are in front.
		i := 0
		for i < len(t.idle) && now.Sub(t.idle[i].idleSince) > t.IdleTimeout {
			i++
		}
		if i > 0 {
			drop = append(drop, t.idle[:i]...)
			t.idle = append(t.idle[:0], t.idle[i:]...)
		}
	}
	if len(t.idle) < max {
		t.idle = append(t.idle, pc)
	} else {
		drop = append(drop, pc)
	}
	t.mu.Unlock()
	for _, d := range drop {
		_ = d.c.Close()
	}
}

// exchange writes req and reads the answer's header; the body streams.
func (pc *clientConn) exchange(ctx context.Context, req *Request, body []byte) (*Response, error) {
	stop := context.AfterFunc(ctx, func() { _ = pc.c.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*Response, error) {
		stop()
		return nil, err
	}
	if err := writeRequest(pc.bw, req, body); err != nil {
		return fail(&retryableError{err: err, unwritten: true})
	}
	resp, err := readResponse(pc.br, req)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			// Nothing of the answer arrived: the server had closed the
			// connection (idle timeout, shutdown) before reading it.
			err = &retryableError{err: err}
		}
		return fail(err)
	}
	resp.Request = req
	cb := &clientBody{ctx: ctx, pc: pc, stop: stop}
	cb.reuse = !resp.Close && !req.Close
	switch {
	case req.Method == MethodHead || !bodyAllowed(resp.StatusCode):
		cb.r = eofReader{}
		if req.Method != MethodHead {
			resp.ContentLength = 0
		}
	case hasToken(resp.Header, "Transfer-Encoding", "chunked"):
		if resp.Trailer == nil {
			resp.Trailer = Header{}
		}
		cb.r = &chunkedReader{br: pc.br, trailer: resp.Trailer}
		resp.ContentLength = -1
	case resp.ContentLength >= 0:
		cb.r = &io.LimitedReader{R: pc.br, N: resp.ContentLength}
		cb.limited = true
	default:
		cb.r = pc.br
		cb.reuse = false
	}
	resp.Body = cb
	if cb.r == (eofReader{}) || (cb.limited && resp.ContentLength == 0) {
		cb.finish(true)
	}
	return resp, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// clientBody streams an answer; at its end the connection goes back to the
// pool when it can carry another exchange.
type clientBody struct {
	ctx     context.Context
	pc      *clientConn
	r       io.Reader
	limited bool
	reuse   bool
	stop    func() bool
	done    bool
	err     error
	mu      sync.Mutex
	// reading is set while Read waits on the connection, closing once
	// Close is called: a Close from another goroutine ends that wait (see
	// Close).
	reading, closing atomic.Bool
}

func (b *clientBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if b.done {
		return 0, io.EOF
	}
	// Close stores closing, then loads reading; Read stores reading, then
	// loads closing: one of them sees the other.
	b.reading.Store(true)
	var n int
	var err error
	if !b.closing.Load() {
		n, err = b.r.Read(p)
	}
	b.reading.Store(false)
	if b.closing.Load() {
		// Close may have put the read deadline in the past: the
		// connection is not reused.
		b.reuse = false
		err = ErrBodyReadAfterClose
	}
	if b.limited && err == io.EOF && b.r.(*io.LimitedReader).N > 0 {
		err = io.ErrUnexpectedEOF
	}
	if b.limited && err == nil && b.r.(*io.LimitedReader).N == 0 {
		err = io.EOF
	}
	switch {
	case err == io.EOF:
		b.finish(true)
	case err != nil:
		if b.ctx.Err() != nil {
			err = b.ctx.Err()
		}
		b.err = err
		b.finish(false)
	}
	return n, err
}

// finish releases the connection: to the pool after a complete body,
// closed otherwise.
func (b *clientBody) finish(complete bool) {
	if b.done {
		return
	}
	b.done = true
	if !b.stop() {
		// The context ended: the connection's deadline is in the past.
		complete = false
		if b.err == nil {
			b.err = b.ctx.Err()
		}
	}
	if complete && b.reuse {
		b.pc.t.putIdle(b.pc)
		return
	}
	_ = b.pc.c.Close()
}

// Close ends the body; the connection is closed unless the body was read
// to its end. A Read waiting in another goroutine is woken, as net/http's
// bodies do: the read deadline is put in the past and the connection is
// not reused.
func (b *clientBody) Close() error {
	b.closing.Store(true)
	if b.reading.Load() {
		// Read sees closing when it returns (closing was stored before
		// reading was seen set), so it does not pool the connection.
		_ = b.pc.c.SetReadDeadline(aLongTimeAgo)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.done {
		b.reuse = false
		b.finish(false)
	}
	if b.err == nil {
		b.err = ErrBodyReadAfterClose
	}
	return nil
}

// writeRequest writes req's line, headers and body.
func writeRequest(bw *bufio.Writer, req *Request, body []byte) error {
	target := req.URL.RequestURI()
	if strings.ContainsAny(target, " \r\n") || !validMethod(req.Method) {
		return fmt.Errorf("minihttp: invalid request %s %q", req.Method, target)
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !validValue(host) {
		return errors.New("minihttp: invalid Host")
	}
	bw.WriteString(req.Method)
	bw.WriteByte(' ')
	bw.WriteString(target)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	if _, ok := req.Header["User-Agent"]; !ok {
		bw.WriteString("User-Agent: weftos-minihttp\r\n")
	}
	if len(body) > 0 || req.Method == MethodPost || req.Method == MethodPut {
		bw.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	if req.Close {
		bw.WriteString("Connection: close\r\n")
	}
	for k, vs := range req.Header {
		switch CanonicalHeaderKey(k) {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection":
			continue
		}
		if !validHeaderName(k) {
			return fmt.Errorf("minihttp: invalid header name %q", k)
		}
		for _, v := range vs {
			if !validValue(v) {
				return fmt.Errorf("minihttp: invalid value for header %q", k)
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	bw.WriteString("\r\n")
	bw.Write(body)
	return bw.Flush()
}

// maxInformational bounds the 1xx answers skipped before the final one.
const maxInformational = 5

// readResponse parses a status line and headers from br. Body framing is
// left to the caller; ContentLength is -1 when not declared.
func readResponse(br *bufio.Reader, req *Request) (*Response, error) {
	for i := 0; ; i++ {
		lr := &lineReader{br: br, budget: DefaultMaxHeaderBytes}
		line, err := lr.line()
		if err != nil {
			return nil, err
		}
		proto, status, ok := strings.Cut(line, " ")
		major, minor, vok := parseVersion(proto)
		if !ok || !vok {
			return nil, fmt.Errorf("minihttp: malformed status line %q", truncate(line))
		}
		codeStr, _, _ := strings.Cut(status, " ")
		code, err := strconv.Atoi(codeStr)
		if err != nil || len(codeStr) != 3 || code < 100 {
			return nil, fmt.Errorf("minihttp: malformed status code %q", truncate(codeStr))
		}
		h, err := lr.headers()
		if err != nil {
			return nil, fmt.Errorf("minihttp: response header: %w", noEOF(err))
		}
		if code < 200 {
			if code == 101 || i >= maxInformational {
				return nil, fmt.Errorf("minihttp: unexpected status %d", code)
			}
			continue
		}
		resp := &Response{Status: status, StatusCode: code, Proto: proto, ProtoMajor: major, ProtoMinor: minor, Header: h}
		if minor == 0 {
			h.Del("Transfer-Encoding") // not defined for HTTP/1.0 (RFC 9112 6.1); net/http ignores it too
		}
		if te := h.Values("Transfer-Encoding"); len(te) > 0 && !(len(te) == 1 && strings.EqualFold(strings.TrimSpace(te[0]), "chunked")) {
			return nil, fmt.Errorf("minihttp: %w %q", errUnsupportedTE, te)
		}
		cl, err := contentLength(h)
		if err != nil {
			return nil, err
		}
		if len(h.Values("Transfer-Encoding")) > 0 {
			cl = -1
		}
		resp.ContentLength = cl
		resp.Close = wantsClose(major, minor, h)
		if tr := h.Values("Trailer"); len(tr) > 0 {
			resp.Trailer = Header{}
			for _, v := range tr {
				for _, k := range strings.Split(v, ",") {
					if k = strings.TrimSpace(k); k != "" {
						resp.Trailer[CanonicalHeaderKey(k)] = nil
					}
				}
			}
		}
		return resp, nil
	}
}
