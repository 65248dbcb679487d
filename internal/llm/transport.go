package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/llm/sse"
)

const (
	backoffBase   = 500 * time.Millisecond
	backoffCap    = 8 * time.Second
	maxErrorBody  = 64 << 10
	userAgent     = "weftos-llm/1"
	redactedToken = "[REDACTED]"
)

// transport is the HTTP machinery shared by both vendor clients: request
// construction, auth, error mapping, retries and key redaction.
type transport struct {
	cfg   *resolved
	auth  func(h http.Header) // sets the vendor's auth headers
	tools toolCache
	urls  sync.Map // path → endpoint(path), see url

	hdrOnce sync.Once
	hdrs    [4]http.Header // by body (1) | stream (2), see header
}

// redact removes the API key from s.
func (t *transport) redact(s string) string {
	if k := string(t.cfg.key); len(k) >= 4 {
		s = strings.ReplaceAll(s, k, redactedToken)
	}
	return s
}

// redactedError is an error whose text had the key removed. It keeps the
// chain for errors.Is/As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// scrub guarantees the key does not appear in err's text.
func (t *transport) scrub(err error) error {
	if err == nil {
		return nil
	}
	var ae *APIError
	if errors.As(err, &ae) {
		ae.Message = t.redact(ae.Message)
	}
	msg := err.Error()
	if r := t.redact(msg); r != msg {
		return &redactedError{msg: r, err: err}
	}
	return err
}

// url is endpoint(path), kept for paths without a query (the few fixed
// ones every call uses).
func (t *transport) url(path string) string {
	if strings.IndexByte(path, '?') >= 0 {
		return t.endpoint(path)
	}
	if u, ok := t.urls.Load(path); ok {
		return u.(string)
	}
	u, _ := t.urls.LoadOrStore(path, t.endpoint(path))
	return u.(string)
}

// endpoint joins the base URL and path.
func (t *transport) endpoint(path string) string {
	u := *t.cfg.base
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, u.RawQuery = path[:i], path[i+1:]
	}
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	return u.String()
}

// header returns the request headers for a request with or without a
// body, streamed or not. The four sets are built once (the configuration
// and key do not change). With the client resolve made they are shared by
// every request, read only: net/http neither modifies a request's headers
// (http.RoundTripper's contract; http.Client clones them before it adds
// any, and for redirects). A caller's client may wrap a transport that
// does not keep to that: its requests get a copy each (one map and one
// slice).
func (t *transport) header(body, stream bool) http.Header {
	t.hdrOnce.Do(func() {
		for i := range t.hdrs {
			h := http.Header{}
			if i&1 != 0 {
				h.Set("Content-Type", "application/json")
			}
			if i&2 != 0 {
				h.Set("Accept", "text/event-stream")
				h.Set("Cache-Control", "no-cache")
			} else {
				h.Set("Accept", "application/json")
			}
			h.Set("User-Agent", userAgent)
			for k, v := range t.cfg.Headers {
				h.Set(k, v)
			}
			t.auth(h)
			t.hdrs[i] = h
		}
	})
	i := 0
	if body {
		i |= 1
	}
	if stream {
		i |= 2
	}
	if t.cfg.ownClient {
		return t.hdrs[i]
	}
	return t.hdrs[i].Clone()
}

// send performs one HTTP exchange. On a 2xx status it returns the response,
// whose body the caller must close; otherwise an *APIError, or an error
// wrapping ErrUnavailable when the provider could not be reached.
func (t *transport) send(ctx context.Context, method, path string, body *encodedBody, stream bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, t.url(path), nil)
	if err != nil {
		return nil, fmt.Errorf("llm: %s: %w: %w", t.cfg.Name, ErrBadRequest, err)
	}
	if body != nil {
		// What http.NewRequest sets up for a *bytes.Reader, with a body
		// the direct transport sends from the slice itself (Bytes).
		if len(body.b) == 0 {
			req.Body, req.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
		} else {
			req.Body, req.ContentLength = body.open(), int64(len(body.b))
			req.GetBody = func() (io.ReadCloser, error) { return body.open(), nil }
		}
	}
	req.Header = t.header(body != nil, stream)
	resp, err := t.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("llm: %s: %w: %w", t.cfg.Name, ErrUnavailable, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	ae := parseAPIError(t.cfg.Name, resp.StatusCode, resp.Header, b, t.cfg.Clock.Now())
	if (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden) && t.cfg.key == "" {
		switch {
		case t.cfg.APIKeyEnv != "":
			ae.Message += " (no API key was sent: " + t.cfg.APIKeyEnv + " is not set)"
		case t.cfg.APIKeyFile == "":
			ae.Message += " (no API key is configured for this provider)"
		}
	}
	return nil, ae
}

// attemptFunc performs one attempt. delivered reports whether any output
// reached the caller (then the attempt must not be repeated).
type attemptFunc func(ctx context.Context) (delivered bool, err error)

// retry runs attempt until it succeeds, fails permanently, delivered
// output, or retries are exhausted, sleeping with jittered exponential
// backoff (or the provider's Retry-After) between attempts.
func (t *transport) retry(ctx context.Context, op string, attempt attemptFunc) error {
	log := t.cfg.Logger
	for n := 0; ; n++ {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if t.cfg.Timeout > 0 {
			actx, cancel = context.WithTimeout(ctx, t.cfg.Timeout)
		}
		start := t.cfg.Clock.Now()
		delivered, err := attempt(actx)
		timedOut := actx.Err() != nil && ctx.Err() == nil
		cancel()
		if err == nil {
			log.LogAttrs(ctx, slog.LevelDebug, "llm request done", slog.String("provider", t.cfg.Name),
				slog.String("op", op), slog.Int("attempt", n+1), slog.Duration("took", t.cfg.Clock.Now().Sub(start)))
			return nil
		}
		if ctx.Err() != nil {
			return t.scrub(fmt.Errorf("llm: %s: %s: %w", t.cfg.Name, op, context.Cause(ctx)))
		}
		if timedOut {
			err = fmt.Errorf("llm: %s: %w: attempt timed out after %s: %w", t.cfg.Name, ErrUnavailable, t.cfg.Timeout, err)
		}
		err = t.scrub(err)
		if delivered || !Retryable(err) || n >= t.cfg.MaxRetries {
			log.LogAttrs(ctx, slog.LevelDebug, "llm request failed", slog.String("provider", t.cfg.Name),
				slog.String("op", op), slog.Int("attempt", n+1), slog.String("error", err.Error()))
			return err
		}
		wait, ok := t.backoff(n, err)
		if !ok {
			log.LogAttrs(ctx, slog.LevelWarn, "llm provider asked to wait longer than allowed",
				slog.String("provider", t.cfg.Name), slog.String("error", err.Error()))
			return err
		}
		log.LogAttrs(ctx, slog.LevelWarn, "llm request failed; retrying", slog.String("provider", t.cfg.Name),
			slog.String("op", op), slog.Int("attempt", n+1), slog.Duration("wait", wait), slog.String("error", err.Error()))
		if serr := t.cfg.Clock.Sleep(ctx, wait); serr != nil {
			return t.scrub(fmt.Errorf("llm: %s: %s: %w (while waiting to retry after: %w)", t.cfg.Name, op, serr, err))
		}
	}
}

// backoff returns the wait before retry n+1. A Retry-After within
// MaxRetryAfter is honoured exactly; a longer one returns ok=false.
func (t *transport) backoff(n int, err error) (time.Duration, bool) {
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		if ae.RetryAfter > t.cfg.MaxRetryAfter {
			return 0, false
		}
		return ae.RetryAfter, true
	}
	return jitter(n, t.cfg.Rand()), true
}

// jitter is exponential backoff with "equal jitter": for retry n the wait is
// uniform in [d/2, d) with d = min(backoffCap, backoffBase·2ⁿ).
func jitter(n int, r float64) time.Duration {
	d := backoffCap
	if n < 5 {
		d = min(backoffCap, backoffBase<<n)
	}
	if r < 0 || r >= 1 {
		r = 0
	}
	return d/2 + time.Duration(r*float64(d/2))
}

// marshalBody encodes a request body without HTML escaping, so prompts
// containing <, > and & go over the wire as written.
func marshalBody(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// maxResponseBody bounds a non-streamed response body.
const maxResponseBody = 64 << 20

// fastDecoder is a wire type with a decoder of its own for the common
// case: decodeFast decodes a complete, valid JSON text into the zero value
// exactly as encoding/json would, or reports false leaving it zero.
type fastDecoder interface {
	decodeFast(data []byte) bool
}

var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// limitedReaders are io.LimitReader's, reused: one per response body read
// would be an allocation each.
var limitedReaders = sync.Pool{New: func() any { return new(io.LimitedReader) }}

// decodeJSONBody decodes the first JSON value of a response body (at most
// maxResponseBody bytes) into v, as a json.Decoder would, reading the body
// into a pooled buffer: a well-formed body costs no decoder and no buffer
// growth per response.
func decodeJSONBody(r io.Reader, v any) error {
	buf := bodyBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			bodyBufs.Put(buf)
		}
	}()
	buf.Reset()
	lr := limitedReaders.Get().(*io.LimitedReader)
	lr.R, lr.N = r, maxResponseBody
	_, rerr := buf.ReadFrom(lr)
	lr.R = nil
	limitedReaders.Put(lr)
	if f, ok := v.(fastDecoder); ok && json.Valid(buf.Bytes()) && f.decodeFast(buf.Bytes()) {
		return nil
	}
	if json.Unmarshal(buf.Bytes(), v) == nil {
		return nil
	}
	// Something follows the value, or the body is cut or malformed: the
	// decoder's reading decides, and says what went wrong.
	if err := json.NewDecoder(bytes.NewReader(buf.Bytes())).Decode(v); err != nil {
		if rerr != nil {
			return rerr
		}
		return err
	}
	return nil
}

// drainClose reads what is left of a JSON response body and closes it. A
// decoder stops after the value, and a body not read to its end (the
// newline after the value, a chunked body's terminator) makes the HTTP
// client close the connection instead of reusing it.
func drainClose(body io.ReadCloser) {
	lr := limitedReaders.Get().(*io.LimitedReader)
	lr.R, lr.N = body, 64<<10
	_, _ = io.Copy(io.Discard, lr)
	lr.R = nil
	limitedReaders.Put(lr)
	body.Close()
}

// errIdle is the cancellation cause of a stream that went quiet.
var errIdle = errors.New("stream idle")

// streamHandler is one vendor's stream state machine for one attempt.
type streamHandler struct {
	// handle consumes one event and reports whether the stream is done.
	handle func(ev sse.Event, emit func(Delta)) (bool, error)
	// finish builds the response; complete says the terminator arrived.
	finish func(complete bool) (*Response, error)
}

// chat runs the retried chat exchange shared by both vendors: a plain JSON
// exchange decoded by decode when onDelta is nil, otherwise an SSE stream
// fed to a fresh handler from newStream on each attempt.
//
// chat holds the call's reference to body, and releases it on return.
func (t *transport) chat(ctx context.Context, path string, body *encodedBody, onDelta func(Delta),
	decode func(io.Reader) (*Response, error), newStream func() streamHandler) (*Response, error) {
	defer body.release()
	var resp *Response
	err := t.retry(ctx, "chat", func(ctx context.Context) (bool, error) {
		if onDelta == nil {
			hr, err := t.send(ctx, http.MethodPost, path, body, false)
			if err != nil {
				return false, err
			}
			defer drainClose(hr.Body)
			resp, err = decode(hr.Body)
			return false, err
		}
		sctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		hr, err := t.send(sctx, http.MethodPost, path, body, true)
		if err != nil {
			return false, err
		}
		defer hr.Body.Close()
		// The idle watchdog is armed by the first event, not by the
		// request: reasoning models may think for minutes before it.
		var idle *time.Timer
		touch := func() {
			if t.cfg.IdleTimeout <= 0 {
				return
			}
			if idle == nil {
				idle = time.AfterFunc(t.cfg.IdleTimeout, func() { cancel(errIdle) })
				return
			}
			idle.Reset(t.cfg.IdleTimeout)
		}
		defer func() {
			if idle != nil {
				idle.Stop()
			}
		}()
		h := newStream()
		delivered := false
		emit := func(d Delta) { delivered = true; onDelta(d) }
		resp, err = readStream(sctx, t.cfg.Name, hr.Body, func(ev sse.Event) (bool, error) {
			touch()
			return h.handle(ev, emit)
		}, h.finish)
		if err != nil && ctx.Err() == nil && errors.Is(context.Cause(sctx), errIdle) {
			err = fmt.Errorf("llm: %s: %w: no stream data for %s", t.cfg.Name, ErrUnavailable, t.cfg.IdleTimeout)
		}
		return delivered, err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// readStream decodes SSE events from body and feeds them to handle until
// it reports done or the stream ends; finish builds the response.
// finish(false) is called when the stream ended without its terminator.
func readStream(ctx context.Context, provider string, body io.Reader,
	handle func(sse.Event) (bool, error), finish func(complete bool) (*Response, error)) (*Response, error) {
	dec := sse.NewDecoder(body, sse.DefaultMaxEventSize)
	for {
		ev, err := dec.Next()
		if err != nil {
			if err == io.EOF {
				return finish(false)
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("llm: %s: %w: reading stream: %w", provider, ErrUnavailable, err)
		}
		done, err := handle(ev)
		if err != nil {
			return nil, err
		}
		if done {
			return finish(true)
		}
	}
}
