package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/clip"
)

// Sentinel errors for what callers branch on. *APIError values match the
// first four with errors.Is according to their status and vendor type.
var (
	// ErrRateLimited: the provider answered 429 (after retries).
	ErrRateLimited = errors.New("rate limited")
	// ErrAuth: the provider rejected the credentials (401/403).
	ErrAuth = errors.New("authentication failed")
	// ErrContextLength: the prompt does not fit the model's context window.
	ErrContextLength = errors.New("context length exceeded")
	// ErrUnavailable: the provider could not be reached or is failing
	// (connection error, timeout, 5xx, overloaded, stream cut short).
	ErrUnavailable = errors.New("provider unavailable")
	// ErrBadResponse: the provider sent something that does not follow its
	// wire protocol.
	ErrBadResponse = errors.New("malformed provider response")
	// ErrBadRequest: the request cannot be sent as given (caller error
	// detected before contacting the provider).
	ErrBadRequest = errors.New("invalid request")
	// ErrUnknownProvider: a "provider/model" name names no registered
	// provider.
	ErrUnknownProvider = errors.New("unknown provider")
	// ErrNoProvider: no provider is configured at all.
	ErrNoProvider = errors.New("no LLM provider configured: set OPENAI_API_KEY " +
		"(optionally OPENAI_BASE_URL for an OpenAI-compatible service) or ANTHROPIC_API_KEY, " +
		"or point OPENAI_BASE_URL at a local server, e.g. OPENAI_BASE_URL=http://localhost:11434/v1 " +
		"for Ollama (no key needed)")
)

// APIError is an error answer from a provider.
type APIError struct {
	// Provider is the registry name of the provider that answered.
	Provider string
	// Status is the HTTP status, or 0 for an error event inside a stream.
	Status int
	// Type and Code are the vendor's error type ("rate_limit_error",
	// "invalid_request_error", …) and code ("context_length_exceeded").
	Type    string
	Code    string
	Message string
	// RetryAfter is the delay the provider asked for (Retry-After,
	// retry-after-ms), or 0.
	RetryAfter time.Duration
	// RequestID is the vendor's request id header, for support tickets.
	RequestID string
	// shouldRetry is the x-should-retry header the vendors' SDKs obey:
	// +1 true, -1 false, 0 absent.
	shouldRetry int8
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "llm: %s:", e.Provider)
	if e.Status != 0 {
		fmt.Fprintf(&b, " HTTP %d", e.Status)
	}
	if e.Type != "" {
		fmt.Fprintf(&b, " %s", e.Type)
	}
	if e.Code != "" && e.Code != e.Type {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request %s]", e.RequestID)
	}
	return b.String()
}

// Is matches the package sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests || e.Type == "rate_limit_error" ||
			e.Code == "rate_limit_exceeded"
	case ErrAuth:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden ||
			e.Type == "authentication_error" || e.Type == "permission_error" ||
			e.Code == "invalid_api_key"
	case ErrContextLength:
		return e.contextLength()
	case ErrUnavailable:
		return e.Status >= 500 || e.Type == "overloaded_error" || e.Type == "api_error" ||
			(e.Status == 0 && e.Type == "server_error")
	}
	return false
}

func (e *APIError) contextLength() bool {
	if e.Code == "context_length_exceeded" || e.Type == "request_too_large" ||
		e.Status == http.StatusRequestEntityTooLarge {
		return true
	}
	if e.Status != 0 && e.Status != http.StatusBadRequest {
		return false
	}
	m := strings.ToLower(e.Message)
	for _, s := range []string{"prompt is too long", "context length", "context window",
		"maximum context", "too many tokens", "context_length"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// retryable reports whether the request may be repeated unchanged.
func (e *APIError) retryable() bool {
	switch e.shouldRetry {
	case 1:
		return true
	case -1:
		return false
	}
	switch {
	case e.Status == http.StatusRequestTimeout, e.Status == http.StatusConflict,
		e.Status == http.StatusTooManyRequests, e.Status >= 500:
		return true
	case e.Status == 0:
		// Error event in a stream: retry overload and server errors.
		return e.Type == "overloaded_error" || e.Type == "api_error" || e.Type == "server_error" ||
			e.Type == "rate_limit_error"
	}
	return false
}

// Retryable reports whether err is transient: a rate limit, a server error
// or an unreachable provider. Callers (a Failover, an agent loop) may try
// again later or elsewhere; client errors (bad request, auth, context
// length) and cancellation are not retryable.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.retryable()
	}
	return errors.Is(err, ErrUnavailable)
}

// parseAPIError builds an APIError from a non-2xx response body. It
// understands Anthropic's {"type":"error","error":{"type","message"}} and
// OpenAI's {"error":{"message","type","code","param"}} as well as the
// looser shapes some compatible servers send ({"error":"text"},
// {"message":"text"}, {"detail":"text"}).
func parseAPIError(provider string, status int, h http.Header, body []byte, now time.Time) *APIError {
	e := &APIError{Provider: provider, Status: status}
	if h != nil {
		e.RetryAfter = parseRetryAfter(h, now)
		e.RequestID = firstHeader(h, "x-request-id", "request-id")
		switch strings.ToLower(h.Get("x-should-retry")) {
		case "true":
			e.shouldRetry = 1
		case "false":
			e.shouldRetry = -1
		}
	}
	fillErrorBody(e, body)
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

func fillErrorBody(e *APIError, body []byte) {
	var env struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &env) != nil {
		if s := strings.TrimSpace(string(body)); s != "" && !strings.HasPrefix(s, "<") {
			e.Message = clip.Ellipsis(s, 300)
		}
		return
	}
	var inner struct {
		Type    string          `json:"type"`
		Message string          `json:"message"`
		Code    json.RawMessage `json:"code"`
	}
	var str string
	switch {
	case len(env.Error) > 0 && json.Unmarshal(env.Error, &inner) == nil:
		e.Type, e.Message, e.Code = inner.Type, inner.Message, rawScalar(inner.Code)
	case len(env.Error) > 0 && json.Unmarshal(env.Error, &str) == nil:
		e.Message = str
	case env.Message != "":
		e.Message = env.Message
	case len(env.Detail) > 0:
		if json.Unmarshal(env.Detail, &str) == nil {
			e.Message = str
		} else {
			e.Message = clip.Ellipsis(string(env.Detail), 300)
		}
	}
	e.Message = clip.Ellipsis(e.Message, 2000)
}

// rawScalar renders a JSON string or number as text ("" for null).
func rawScalar(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// parseRetryAfter reads retry-after-ms (OpenAI, Anthropic) and Retry-After
// in delta-seconds or HTTP-date form (RFC 9110 §10.2.3). It returns 0 when
// absent or unparsable.
func parseRetryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("retry-after-ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && ms < 1e9 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 || secs > 1e6 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// protocolError wraps a wire-format violation as ErrBadResponse.
func protocolError(provider, format string, args ...any) error {
	return fmt.Errorf("llm: %s: %w: %s", provider, ErrBadResponse, fmt.Sprintf(format, args...))
}

// errStreamCut reports a stream that ended before its terminator.
func errStreamCut(provider string) error {
	return fmt.Errorf("llm: %s: %w: stream ended before the response was complete", provider, ErrUnavailable)
}
