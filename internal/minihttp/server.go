package minihttp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves HTTP/1.1 on listeners.
type Server struct {
	Handler           Handler
	ReadHeaderTimeout time.Duration // for a request's line and headers
	ReadTimeout       time.Duration // for the whole request (0: none)
	WriteTimeout      time.Duration // for writing the answer (0: none)
	IdleTimeout       time.Duration // between requests (0: ReadTimeout)
	MaxHeaderBytes    int           // 0: DefaultMaxHeaderBytes
	ErrorLog          *log.Logger   // nil: the log package's standard logger

	mu         sync.Mutex
	listeners  map[net.Listener]struct{}
	conns      map[*conn]bool // true: idle
	onShutdown []func()
	closing    atomic.Bool
}

// RegisterOnShutdown registers f to run (in its own goroutine) when
// Shutdown starts.
func (s *Server) RegisterOnShutdown(f func()) {
	s.mu.Lock()
	s.onShutdown = append(s.onShutdown, f)
	s.mu.Unlock()
}

func (s *Server) logf(format string, args ...any) {
	if s.ErrorLog != nil {
		s.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

// Serve accepts connections on l and serves each in its own goroutine. It
// returns ErrServerClosed after Shutdown or Close, or another Accept error.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		_ = l.Close()
		return ErrServerClosed
	}
	if s.listeners == nil {
		s.listeners = map[net.Listener]struct{}{}
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		_ = l.Close()
	}()
	var backoff time.Duration
	for {
		rwc, err := l.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logf("minihttp: Accept error: %v; retrying in %v", err, backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := &conn{srv: s, rwc: rwc}
		if !s.track(c) {
			_ = rwc.Close()
			return ErrServerClosed
		}
		go c.serve()
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	if s.conns == nil {
		s.conns = map[*conn]bool{}
	}
	s.conns[c] = false
	return true
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// setIdle marks c idle (between requests) or active. It reports false when
// c went idle while the server is shutting down: the caller closes it.
func (s *Server) setIdle(c *conn, idle bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; ok {
		s.conns[c] = idle
	}
	return !(idle && s.closing.Load())
}

func (s *Server) closeListeners() {
	for l := range s.listeners {
		_ = l.Close()
	}
}

// Shutdown stops accepting, runs the RegisterOnShutdown functions, closes
// idle connections and waits for active ones to finish their exchange (a
// streaming handler ends when what it watches closes, e.g. a channel
// closed by an OnShutdown function). When ctx ends first it returns
// ctx.Err() and leaves the rest to Close.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	s.closeListeners()
	for _, f := range s.onShutdown {
		go f()
	}
	s.mu.Unlock()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.closeIdle() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// closeIdle closes the idle connections and reports whether none is left.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c, idle := range s.conns {
		if idle {
			_ = c.rwc.Close()
			delete(s.conns, c)
		}
	}
	return len(s.conns) == 0
}

// Close closes the listeners and every connection at once; the requests'
// contexts end.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing.Store(true)
	s.closeListeners()
	for c := range s.conns {
		_ = c.rwc.Close()
		delete(s.conns, c)
	}
	return nil
}

// conn is one server connection.
type conn struct {
	srv *Server
	rwc net.Conn
	cr  *connReader
}

var aLongTimeAgo = time.Unix(1, 0)

// drainTimeout bounds reading the rest of a request body the handler
// left unread.
const drainTimeout = 5 * time.Second

func (c *conn) serve() {
	s := c.srv
	defer func() {
		_ = c.rwc.Close()
		s.forget(c)
	}()
	c.cr = &connReader{c: c.rwc}
	br := bufio.NewReaderSize(c.cr, 4096)
	bw := bufio.NewWriterSize(c.rwc, 4096)
	maxHeader := s.MaxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = DefaultMaxHeaderBytes
	}
	hdr := s.ReadHeaderTimeout
	if hdr == 0 {
		hdr = s.ReadTimeout
	}
	for first := true; ; first = false {
		// Idle until the first byte of a request: Shutdown closes the
		// connection here. A new connection waits at most the header
		// timeout, a kept-alive one the idle timeout.
		if !s.setIdle(c, true) {
			return
		}
		wait := hdr
		if !first {
			wait = s.IdleTimeout
			if wait == 0 {
				wait = s.ReadTimeout
			}
		}
		c.deadline(wait, c.rwc.SetReadDeadline)
		if _, err := br.Peek(1); err != nil {
			return
		}
		s.setIdle(c, false)
		start := time.Now()
		c.deadline(hdr, c.rwc.SetReadDeadline)
		req, err := readRequest(br, maxHeader)
		if err != nil {
			var pe *protocolError
			if errors.As(err, &pe) {
				c.refuse(bw, pe)
			}
			return
		}
		if s.ReadTimeout > 0 {
			_ = c.rwc.SetReadDeadline(start.Add(s.ReadTimeout))
		} else {
			_ = c.rwc.SetReadDeadline(time.Time{})
		}
		c.deadline(s.WriteTimeout, c.rwc.SetWriteDeadline)
		if !c.exchange(req, br, bw) {
			return
		}
	}
}

// deadline sets now+d, or none for d = 0.
func (c *conn) deadline(d time.Duration, set func(time.Time) error) {
	if d > 0 {
		_ = set(time.Now().Add(d))
	} else {
		_ = set(time.Time{})
	}
}

// refuse answers a malformed request and ends the connection.
func (c *conn) refuse(bw *bufio.Writer, pe *protocolError) {
	c.deadline(time.Second, c.rwc.SetWriteDeadline)
	body := strconv.Itoa(pe.status) + " " + StatusText(pe.status) + ": " + pe.msg
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
		pe.status, StatusText(pe.status), len(body), body)
	_ = bw.Flush()
}

// exchange runs the handler for req and reports whether the connection
// may carry another request.
func (c *conn) exchange(req *Request, br *bufio.Reader, bw *bufio.Writer) (keep bool) {
	s := c.srv
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req.ctx = ctx
	req.RemoteAddr = c.rwc.RemoteAddr().String()
	body := &serverBody{r: br, left: req.ContentLength}
	if req.ContentLength == 0 {
		req.Body = NoBody
		c.cr.startBackground(br, cancel)
	} else {
		body.onEOF = func() { c.cr.startBackground(br, cancel) }
		req.Body = body
	}
	w := &response{conn: c, req: req, header: Header{}, bw: bw, contentLength: -1}
	if !c.runHandler(w, req) {
		return false
	}
	if body.left > 0 {
		// A client that announced a body it does not send is not waited
		// for long.
		_ = c.rwc.SetReadDeadline(time.Now().Add(drainTimeout))
	}
	if !w.headerSent && !body.drain() {
		w.closeAfter = true
	}
	w.finish()
	cancel()
	if !c.cr.stopBackground() {
		return false
	}
	if w.err != nil || w.closeAfter || req.Close || s.closing.Load() {
		return false
	}
	if !body.drain() {
		return false
	}
	return true
}

// drain reads what the handler left of a request body (up to maxDrain) so
// that the connection can carry the next request; it reports whether the
// body is now consumed.
func (b *serverBody) drain() bool {
	const maxDrain = 256 << 10
	b.onEOF = nil // the handler is done: no background read now
	if b.left == 0 {
		return true
	}
	if b.left > maxDrain || b.err != nil {
		return false
	}
	n, err := io.CopyN(io.Discard, b.r, b.left)
	b.left -= n
	return err == nil && b.left == 0
}

// runHandler calls the handler; a panicking handler is logged and its
// connection closed (as net/http does), the process goes on.
func (c *conn) runHandler(w *response, req *Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			c.srv.logf("minihttp: panic serving %s: %v\n%s", req.RemoteAddr, v, debug.Stack())
			ok = false
		}
	}()
	c.srv.Handler.ServeHTTP(w, req)
	return true
}

// serverBody is a request body of known length.
type serverBody struct {
	r      *bufio.Reader
	left   int64
	closed bool
	onEOF  func()
	err    error
}

func (b *serverBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, ErrBodyReadAfterClose
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.left == 0 {
		b.eof()
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if err != nil {
		b.err = noEOF(err)
		return n, b.err
	}
	if b.left == 0 {
		b.eof()
		return n, io.EOF
	}
	return n, nil
}

func (b *serverBody) eof() {
	if b.onEOF != nil {
		b.onEOF()
		b.onEOF = nil
	}
}

func (b *serverBody) Close() error {
	b.closed = true
	return nil
}

// connReader is the server connection's reader. Once a request's body is
// read, a background read watches the connection so that the request's
// context ends when the client goes away; a byte it reads early (the next
// pipelined request) is kept for the next Read.
type connReader struct {
	c        net.Conn
	mu       sync.Mutex
	b        [1]byte
	hasByte  bool
	bgDone   chan struct{}
	aborting bool
	err      error // sticky: the connection is gone
}

func (cr *connReader) Read(p []byte) (int, error) {
	cr.mu.Lock()
	if cr.bgDone != nil {
		cr.mu.Unlock()
		return 0, errors.New("minihttp: concurrent read on a connection")
	}
	if cr.err != nil {
		err := cr.err
		cr.mu.Unlock()
		return 0, err
	}
	if cr.hasByte {
		cr.hasByte = false
		cr.mu.Unlock()
		if len(p) == 0 {
			return 0, nil
		}
		p[0] = cr.b[0]
		return 1, nil
	}
	cr.mu.Unlock()
	n, err := cr.c.Read(p)
	if err != nil {
		cr.mu.Lock()
		cr.err = err
		cr.mu.Unlock()
	}
	return n, err
}

// startBackground starts the background read unless br already holds the
// next request's bytes.
func (cr *connReader) startBackground(br *bufio.Reader, cancel context.CancelFunc) {
	if br.Buffered() > 0 {
		return
	}
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if cr.bgDone != nil || cr.hasByte || cr.err != nil {
		return
	}
	done := make(chan struct{})
	cr.bgDone = done
	go func() {
		defer close(done)
		n, err := cr.c.Read(cr.b[:])
		cr.mu.Lock()
		defer cr.mu.Unlock()
		if n == 1 {
			cr.hasByte = true
		}
		var ne net.Error
		if err != nil && !(cr.aborting && errors.As(err, &ne) && ne.Timeout()) {
			cr.err = err
			cancel()
		}
	}()
}

// stopBackground ends a background read and reports whether the
// connection is still usable.
func (cr *connReader) stopBackground() bool {
	cr.mu.Lock()
	done := cr.bgDone
	if done != nil {
		cr.aborting = true
	}
	cr.mu.Unlock()
	if done != nil {
		_ = cr.c.SetReadDeadline(aLongTimeAgo)
		<-done
		_ = cr.c.SetReadDeadline(time.Time{})
	}
	cr.mu.Lock()
	defer cr.mu.Unlock()
	cr.bgDone = nil
	cr.aborting = false
	return cr.err == nil
}

// response is the server's ResponseWriter. The body is buffered until
// 4 KiB, a Flush or the handler's end: a complete small answer gets a
// Content-Length, a larger or flushed one is sent chunked (with the
// trailers the handler declared in "Trailer").
type response struct {
	conn          *conn
	req           *Request
	header        Header // the handler's live map
	sent          Header // snapshot at WriteHeader
	bw            *bufio.Writer
	status        int
	wroteHeader   bool
	headerSent    bool
	buf           []byte
	chunked       bool
	contentLength int64 // declared; -1: none
	written       int64
	closeAfter    bool
	trailers      []string
	err           error
}

const bufferLimit = 4096

func (w *response) Header() Header { return w.header }

func (w *response) requestTooLarge() { w.closeAfter = true }

func (w *response) WriteHeader(code int) {
	if w.wroteHeader {
		w.conn.srv.logf("minihttp: superfluous WriteHeader(%d) for %s %s", code, w.req.Method, w.req.URL.Path)
		return
	}
	if code < 200 || code > 999 {
		w.conn.srv.logf("minihttp: invalid or informational status %d; answering 500", code)
		code = StatusInternalServerError
	}
	w.wroteHeader = true
	w.status = code
	w.sent = w.header.Clone()
	if v := w.sent.Get("Content-Length"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			w.conn.srv.logf("minihttp: invalid Content-Length %q from handler; ignored", v)
			w.sent.Del("Content-Length")
		} else {
			w.contentLength = n
		}
	}
}

func bodyAllowed(status int) bool { return status != 204 && status != 304 }

func (w *response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowed(w.status) {
		return 0, errors.New("http: request method or response status code does not allow body")
	}
	if w.contentLength >= 0 && w.written+int64(len(p)) > w.contentLength {
		return 0, errContentLength
	}
	w.written += int64(len(p))
	if w.req.Method == MethodHead {
		return len(p), nil
	}
	if !w.headerSent {
		if len(w.buf)+len(p) <= bufferLimit {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		if err := w.sendHeader(false); err != nil {
			return 0, err
		}
	}
	if err := w.writeBody(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *response) writeBody(p []byte) error {
	var err error
	if w.chunked {
		err = writeChunk(w.bw, p)
	} else {
		_, err = w.bw.Write(p)
	}
	if err != nil {
		w.err = err
	}
	return err
}

// sendHeader writes the status line and headers (and any buffered body);
// final means the handler has returned.
func (w *response) sendHeader(final bool) error {
	w.headerSent = true
	h := w.sent
	if tr := h.Values("Trailer"); len(tr) > 0 {
		for _, v := range tr {
			for _, k := range strings.Split(v, ",") {
				if k = CanonicalHeaderKey(strings.TrimSpace(k)); k != "" {
					w.trailers = append(w.trailers, k)
				}
			}
		}
	}
	switch {
	case !bodyAllowed(w.status):
		h.Del("Content-Length")
		h.Del("Transfer-Encoding")
	case w.contentLength >= 0:
	case final && len(w.trailers) == 0 && w.req.Method != MethodHead:
		h.Set("Content-Length", strconv.Itoa(len(w.buf)))
	case w.req.Method == MethodHead:
		if final {
			h.Set("Content-Length", strconv.FormatInt(w.written, 10))
		}
	case w.req.ProtoMinor == 0:
		w.closeAfter = true
	default:
		w.chunked = true
		h.Set("Transfer-Encoding", "chunked")
	}
	if !w.chunked {
		w.trailers = nil
	}
	if w.closeAfter || w.req.Close || w.conn.srv.closing.Load() || hasToken(h, "Connection", "close") {
		w.closeAfter = true
		h.Set("Connection", "close")
	} else if w.req.ProtoMinor == 0 {
		h.Set("Connection", "keep-alive")
	}
	if _, ok := h["Date"]; !ok {
		h.Set("Date", time.Now().UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT"))
	}
	if _, ok := h["Content-Type"]; !ok && len(w.buf) > 0 {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	bw := w.bw
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", w.status, StatusText(w.status))
	for k, vs := range h {
		if !validHeaderName(k) {
			continue
		}
		for _, v := range vs {
			if !validValue(v) {
				continue
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	if _, err := bw.WriteString("\r\n"); err != nil {
		w.err = err
		return err
	}
	buf := w.buf
	w.buf = nil
	return w.writeBody(buf)
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isToken(k[i]) {
			return false
		}
	}
	return true
}

func hasToken(h Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// Flush sends the header and what is buffered.
func (w *response) Flush() { _ = w.FlushError() }

// FlushError is Flush reporting a write error.
func (w *response) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(StatusOK)
	}
	if w.err != nil {
		return w.err
	}
	if !w.headerSent {
		if err := w.sendHeader(false); err != nil {
			return err
		}
	}
	if err := w.bw.Flush(); err != nil {
		w.err = err
		return err
	}
	return nil
}

// SetReadDeadline sets the connection's read deadline.
func (w *response) SetReadDeadline(t time.Time) error { return w.conn.rwc.SetReadDeadline(t) }

// SetWriteDeadline sets the connection's write deadline.
func (w *response) SetWriteDeadline(t time.Time) error { return w.conn.rwc.SetWriteDeadline(t) }

// finish completes the answer after the handler returned.
func (w *response) finish() {
	if !w.wroteHeader {
		w.WriteHeader(StatusOK)
	}
	if w.err != nil {
		return
	}
	if !w.headerSent {
		if err := w.sendHeader(true); err != nil {
			return
		}
	}
	if w.chunked {
		w.bw.WriteString("0\r\n")
		for _, k := range w.trailers {
			for _, v := range w.header.Values(k) {
				if validValue(v) {
					w.bw.WriteString(k + ": " + v + "\r\n")
				}
			}
		}
		w.bw.WriteString("\r\n")
	}
	if w.contentLength >= 0 && w.written < w.contentLength && w.req.Method != MethodHead {
		w.closeAfter = true
	}
	if err := w.bw.Flush(); err != nil {
		w.err = err
	}
}
