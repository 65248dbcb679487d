package minihttp

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// ResponseWriter is what a handler writes its answer to.
type ResponseWriter interface {
	Header() Header
	Write([]byte) (int, error)
	WriteHeader(statusCode int)
}

// Flusher is a ResponseWriter that can send what it buffered.
type Flusher interface{ Flush() }

// Handler answers requests.
type Handler interface {
	ServeHTTP(ResponseWriter, *Request)
}

// HandlerFunc is a function used as a Handler.
type HandlerFunc func(ResponseWriter, *Request)

// ServeHTTP calls f(w, r).
func (f HandlerFunc) ServeHTTP(w ResponseWriter, r *Request) { f(w, r) }

// Error writes msg as a plain-text error with code.
func Error(w ResponseWriter, msg string, code int) {
	h := w.Header()
	h.Del("Content-Length")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

// ResponseController reaches the optional abilities of a ResponseWriter
// (or of a writer it wraps, through an Unwrap() ResponseWriter method).
type ResponseController struct{ rw ResponseWriter }

// NewResponseController returns a controller for rw.
func NewResponseController(rw ResponseWriter) *ResponseController {
	return &ResponseController{rw: rw}
}

type rwUnwrapper interface{ Unwrap() ResponseWriter }

// Flush sends what the writer buffered.
func (c *ResponseController) Flush() error {
	for rw := c.rw; ; {
		switch t := rw.(type) {
		case interface{ FlushError() error }:
			return t.FlushError()
		case Flusher:
			t.Flush()
			return nil
		case rwUnwrapper:
			rw = t.Unwrap()
		default:
			return ErrNotSupported
		}
	}
}

// SetReadDeadline sets the connection's read deadline (zero: none).
func (c *ResponseController) SetReadDeadline(t time.Time) error {
	for rw := c.rw; ; {
		switch u := rw.(type) {
		case interface{ SetReadDeadline(time.Time) error }:
			return u.SetReadDeadline(t)
		case rwUnwrapper:
			rw = u.Unwrap()
		default:
			return ErrNotSupported
		}
	}
}

// SetWriteDeadline sets the connection's write deadline (zero: none).
func (c *ResponseController) SetWriteDeadline(t time.Time) error {
	for rw := c.rw; ; {
		switch u := rw.(type) {
		case interface{ SetWriteDeadline(time.Time) error }:
			return u.SetWriteDeadline(t)
		case rwUnwrapper:
			rw = u.Unwrap()
		default:
			return ErrNotSupported
		}
	}
}

// MaxBytesError is returned by a MaxBytesReader's Read past its limit.
type MaxBytesError struct{ Limit int64 }

func (e *MaxBytesError) Error() string { return "http: request body too large" }

// MaxBytesReader limits r to n bytes; reading past them fails with
// *MaxBytesError and makes the server close the connection after the
// answer.
func MaxBytesReader(w ResponseWriter, r io.ReadCloser, n int64) io.ReadCloser {
	if n < 0 {
		n = 0
	}
	return &maxBytesReader{w: w, r: r, i: n, n: n}
}

type maxBytesReader struct {
	w   ResponseWriter
	r   io.ReadCloser
	i   int64 // the limit
	n   int64 // bytes left
	err error
}

func (l *maxBytesReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p))-1 > l.n {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	if int64(n) <= l.n {
		l.n -= int64(n)
		l.err = err
		return n, err
	}
	n = int(l.n)
	l.n = 0
	if res, ok := l.w.(interface{ requestTooLarge() }); ok {
		res.requestTooLarge()
	}
	l.err = &MaxBytesError{Limit: l.i}
	return n, l.err
}

func (l *maxBytesReader) Close() error { return l.r.Close() }

// NoBody is an empty request body.
var NoBody = noBody{}

type noBody struct{}

func (noBody) Read([]byte) (int, error) { return 0, io.EOF }
func (noBody) Close() error             { return nil }

var errContentLength = errors.New("http: wrote more than the declared Content-Length")
