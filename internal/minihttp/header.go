package minihttp

import (
	"errors"
	"strings"
)

// Header is a MIME header with canonical keys, as net/http's.
type Header map[string][]string

// Get returns the first value of key.
func (h Header) Get(key string) string {
	if v := h[CanonicalHeaderKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Values returns every value of key.
func (h Header) Values(key string) []string { return h[CanonicalHeaderKey(key)] }

// Set replaces key's values with value.
func (h Header) Set(key, value string) { h[CanonicalHeaderKey(key)] = []string{value} }

// Add appends value to key's values.
func (h Header) Add(key, value string) {
	k := CanonicalHeaderKey(key)
	h[k] = append(h[k], value)
}

// Del removes key.
func (h Header) Del(key string) { delete(h, CanonicalHeaderKey(key)) }

// Clone returns a deep copy of h (nil for nil).
func (h Header) Clone() Header {
	if h == nil {
		return nil
	}
	c := make(Header, len(h))
	for k, v := range h {
		c[k] = append([]string(nil), v...)
	}
	return c
}

// CanonicalHeaderKey returns key in canonical form ("content-type" →
// "Content-Type"); a key with characters outside the token set is
// returned unchanged, as net/http does.
func CanonicalHeaderKey(key string) string {
	for i := 0; i < len(key); i++ {
		if !isToken(key[i]) {
			return key
		}
	}
	b := []byte(key)
	upper := true
	changed := false
	for i, c := range b {
		switch {
		case upper && 'a' <= c && c <= 'z':
			b[i] = c - ('a' - 'A')
			changed = true
		case !upper && 'A' <= c && c <= 'Z':
			b[i] = c + ('a' - 'A')
			changed = true
		}
		upper = c == '-'
	}
	if !changed {
		return key
	}
	return string(b)
}

func isToken(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validValue reports whether v may appear as a header value: no control
// characters other than tab.
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// Methods the API uses.
const (
	MethodGet    = "GET"
	MethodHead   = "HEAD"
	MethodPost   = "POST"
	MethodPut    = "PUT"
	MethodDelete = "DELETE"
)

// Status codes the API answers with.
const (
	StatusOK                          = 200
	StatusBadRequest                  = 400
	StatusUnauthorized                = 401
	StatusForbidden                   = 403
	StatusNotFound                    = 404
	StatusMethodNotAllowed            = 405
	StatusConflict                    = 409
	StatusGone                        = 410
	StatusLengthRequired              = 411
	StatusRequestEntityTooLarge       = 413
	StatusUnprocessableEntity         = 422
	StatusTooManyRequests             = 429
	StatusRequestHeaderFieldsTooLarge = 431
	StatusInternalServerError         = 500
	StatusNotImplemented              = 501
	StatusBadGateway                  = 502
	StatusServiceUnavailable          = 503
	StatusGatewayTimeout              = 504
)

var statusText = map[int]string{
	100: "Continue", 101: "Switching Protocols",
	200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 206: "Partial Content",
	301: "Moved Permanently", 302: "Found", 304: "Not Modified", 307: "Temporary Redirect", 308: "Permanent Redirect",
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
	406: "Not Acceptable", 408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required",
	412: "Precondition Failed", 413: "Request Entity Too Large", 414: "Request URI Too Long",
	415: "Unsupported Media Type", 417: "Expectation Failed", 422: "Unprocessable Entity", 425: "Too Early",
	426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
	431: "Request Header Fields Too Large",
	500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
	504: "Gateway Timeout", 505: "HTTP Version Not Supported",
}

// StatusText returns the reason phrase of code, or "" if unknown.
func StatusText(code int) string { return statusText[code] }

// Errors, named as net/http's.
var (
	// ErrServerClosed is returned by Serve after Shutdown or Close.
	ErrServerClosed = errors.New("http: Server closed")
	// ErrNotSupported is returned by ResponseController methods the
	// writer does not support.
	ErrNotSupported = errors.New("feature not supported")
	// ErrBodyReadAfterClose is returned by reading a closed body.
	ErrBodyReadAfterClose = errors.New("http: invalid Read on closed Body")
	// ErrHandlerTimeout and friends are not used: handlers see their
	// request context end instead.
	errUnsupportedTE = errors.New("unsupported transfer encoding")
)
