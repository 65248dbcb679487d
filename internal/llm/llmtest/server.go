// Package llmtest provides in-process fake LLM servers for tests: one that
// speaks the OpenAI Chat Completions protocol and one that speaks
// Anthropic's Messages API, both byte-for-byte in the vendors' documented
// wire formats, including Server-Sent Events streaming with text deltas,
// tool-call deltas (parallel calls too), usage reports and error bodies.
//
// A server is scripted with a queue of Turns: each chat request consumes
// one Turn, which is a text answer (streamed in several chunks), a set of
// tool calls (streamed as argument fragments), an HTTP error with the
// vendor's error body (429 with Retry-After, 500, 401, …), an error event
// in the middle of a stream, a stream cut short, or a hang. When the
// queue is empty, Options.Handler (if set) is asked for the Turn.
//
// Every request is recorded and checked against the vendor's rules (roles,
// required fields, tool results answering earlier tool calls, auth and
// version headers). An invalid request gets a 400 with the vendor's
// invalid_request_error body, consumes no Turn, and is listed by
// Violations, so tests can assert that a client sent the right shape.
package llmtest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/weftos/weftos/internal/llm/sse"
)

// ToolCall is a tool call the fake model makes. Arguments is the raw JSON
// text the model "generates".
type ToolCall struct {
	ID        string
	Name      string
	Arguments string
}

// Error is an error answer. Zero fields get vendor-typical defaults.
type Error struct {
	// Status is the HTTP status (default 500).
	Status int
	// Type and Code default from Status in each vendor's vocabulary.
	Type    string
	Code    string
	Message string
	// RetryAfter is sent verbatim as the Retry-After header (seconds or an
	// HTTP date) when not empty.
	RetryAfter string
}

// Usage overrides the token counts a turn reports.
type Usage struct {
	InputTokens  int
	OutputTokens int
}

// Turn is one scripted answer.
type Turn struct {
	// Text is the assistant text, streamed in Chunks pieces.
	Text string
	// ToolCalls are requested after Text; several make a parallel call.
	ToolCalls []ToolCall
	// Chunks is the number of stream pieces Text is split into; 0 means
	// one per word.
	Chunks int
	// StopReason overrides the vendor stop reason (finish_reason /
	// stop_reason); the default is derived from ToolCalls.
	StopReason string
	// Usage overrides the reported token counts; zero fields are derived
	// from the request and answer sizes.
	Usage Usage
	// Error, when set, is returned as an HTTP error instead of an answer.
	Error *Error
	// StreamError, when set on a streamed request, is sent as an error
	// event after StreamErrorAfter content events, ending the stream.
	StreamError      *Error
	StreamErrorAfter int
	// CutAfter > 0 aborts the connection after that many SSE events
	// (streamed requests), without the stream terminator.
	CutAfter int
	// StallAfter > 0 stops sending after that many SSE events and holds
	// the connection open until the client goes away.
	StallAfter int
	// Hang holds the request without answering until the client goes
	// away or the server closes.
	Hang bool
	// Latency overrides Options.Latency for this turn.
	Latency time.Duration
}

// Text is a Turn answering s.
func Text(s string) Turn { return Turn{Text: s} }

// Calls is a Turn requesting the tool calls (parallel when several).
func Calls(calls ...ToolCall) Turn { return Turn{ToolCalls: calls} }

// Fail is a Turn answering with an HTTP error of the given status.
func Fail(status int) Turn { return Turn{Error: &Error{Status: status}} }

// RateLimited is a 429 Turn with the given Retry-After header value.
func RateLimited(retryAfter string) Turn {
	return Turn{Error: &Error{Status: http.StatusTooManyRequests, RetryAfter: retryAfter}}
}

// Options configure a fake server.
type Options struct {
	// APIKey, when set, is required (Bearer for OpenAI, x-api-key for
	// Anthropic); other requests get the vendor's 401 body. The 401
	// message echoes the presented key verbatim, so tests can check that
	// clients redact keys from errors.
	APIKey string
	// Latency delays each answer (time to first byte), as a model would.
	Latency time.Duration
	// Models is what the models endpoint lists (default: one model).
	Models []string
	// ModelsPageSize caps the Anthropic models page size, to exercise
	// pagination (0: the client's limit).
	ModelsPageSize int
	// Model is the model name reported in answers (default: the request's).
	Model string
	// OnRequest, when set, is called with each request as it is recorded,
	// before it is answered (e.g. to cancel a client at a precise point).
	OnRequest func(Request)
	// Handler supplies the Turn when the script is empty. Without it an
	// empty script answers 500 "script exhausted".
	Handler func(Request) Turn
	// ForgetRequests keeps no record of requests (Requests, ChatRequests
	// and Violations return nothing), so a long load test does not grow
	// the server's memory. Requests are still validated.
	ForgetRequests bool
}

// Request is a request the server received.
type Request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
	// Violation is why the request broke the vendor's rules, or "".
	Violation string
}

// Decode unmarshals the request body into v.
func (r Request) Decode(v any) error { return json.Unmarshal(r.Body, v) }

// Map returns the body as a generic JSON object (nil if not an object).
func (r Request) Map() map[string]any {
	var m map[string]any
	if json.Unmarshal(r.Body, &m) != nil {
		return nil
	}
	return m
}

// Server is a scripted fake provider. Its methods are safe for concurrent
// use.
type Server struct {
	// URL is the base URL to configure a client with: it ends in "/v1" for
	// the OpenAI server (as OPENAI_BASE_URL does) and is bare for the
	// Anthropic one (as ANTHROPIC_BASE_URL is).
	URL string

	srv     *httptest.Server
	client  *http.Client
	opts    Options
	closing chan struct{}
	once    sync.Once

	mu     sync.Mutex
	script []Turn
	reqs   []Request
	served int
}

type vendor interface {
	path() string
	modelsPath() string
	authorized(h http.Header, key string) (presented string, ok bool)
	// validate checks a chat request and returns why it breaks the
	// vendor's rules ("" if it does not) and the request it decoded, for
	// answer.
	validate(r *http.Request, body []byte) (string, any)
	writeError(w http.ResponseWriter, e Error)
	writeModels(w http.ResponseWriter, r *http.Request, models []string, pageSize int)
	answer(s *Server, w http.ResponseWriter, r *http.Request, body []byte, req any, t Turn)
}

func newServer(v vendor, opts Options, suffix string) *Server {
	s := &Server{opts: opts, closing: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serve(v, w, r)
	}))
	s.URL = s.srv.URL + suffix
	// Unlike srv.Client(), keep enough idle connections for many
	// concurrent agents (load tests) to reuse them.
	s.client = &http.Client{Transport: &http.Transport{
		MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: 30 * time.Second}}
	return s
}

// Push appends turns to the script.
func (s *Server) Push(turns ...Turn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, turns...)
}

// Remaining returns the number of unconsumed turns.
func (s *Server) Remaining() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.script)
}

// Requests returns a copy of every request received, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// ChatRequests returns the recorded chat requests only.
func (s *Server) ChatRequests() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method == http.MethodPost {
			out = append(out, r)
		}
	}
	return out
}

// Violations returns the protocol violations seen, one per bad request.
func (s *Server) Violations() []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Violation != "" {
			out = append(out, r.Method+" "+r.Path+": "+r.Violation)
		}
	}
	return out
}

// Served returns the number of turns consumed.
func (s *Server) Served() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served
}

// Client returns an HTTP client for the server, tuned to reuse
// connections under high concurrency. Close closes its idle connections.
func (s *Server) Client() *http.Client { return s.client }

// Close releases hanging requests, shuts the server down and closes the
// client's idle connections.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.srv.CloseClientConnections()
		s.srv.Close()
		s.client.CloseIdleConnections()
	})
}

func (s *Server) serve(v vendor, w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header, Body: body}
	if !s.opts.ForgetRequests || s.opts.OnRequest != nil {
		rec.Header = r.Header.Clone()
	}
	if err != nil {
		rec.Violation = "unreadable body: " + err.Error()
	}
	var parsed any
	isChat := r.URL.Path == v.path()
	isModels := r.URL.Path == v.modelsPath()
	switch {
	case rec.Violation != "":
	case isChat && r.Method != http.MethodPost, isModels && r.Method != http.MethodGet:
		rec.Violation = "method " + r.Method + " not allowed"
	case !isChat && !isModels:
		rec.Violation = "unknown path " + r.URL.Path
	case isChat:
		rec.Violation, parsed = v.validate(r, body)
	}
	presented, authorized := v.authorized(r.Header, s.opts.APIKey)
	if !s.opts.ForgetRequests {
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		s.mu.Unlock()
	}
	if s.opts.OnRequest != nil {
		s.opts.OnRequest(rec)
	}

	if !authorized {
		v.writeError(w, Error{Status: http.StatusUnauthorized,
			Message: "Incorrect API key provided: " + presented})
		return
	}
	if rec.Violation != "" {
		st := http.StatusBadRequest
		if !isChat && !isModels {
			st = http.StatusNotFound
		}
		v.writeError(w, Error{Status: st, Message: rec.Violation})
		return
	}
	if isModels {
		models := s.opts.Models
		if len(models) == 0 {
			models = []string{"fake-model-1"}
		}
		v.writeModels(w, r, models, s.opts.ModelsPageSize)
		return
	}
	t, ok := s.next(rec)
	if !ok {
		v.writeError(w, Error{Status: http.StatusInternalServerError, Type: "api_error",
			Message: "llmtest: script exhausted"})
		return
	}
	lat := s.opts.Latency
	if t.Latency > 0 {
		lat = t.Latency
	}
	if lat > 0 && !s.wait(r, lat) {
		return
	}
	if t.Hang {
		s.hold(r)
		return
	}
	if t.Error != nil {
		v.writeError(w, *t.Error)
		return
	}
	v.answer(s, w, r, body, parsed, t)
}

func (s *Server) next(rec Request) (Turn, bool) {
	s.mu.Lock()
	if len(s.script) > 0 {
		t := s.script[0]
		s.script = s.script[1:]
		s.served++
		s.mu.Unlock()
		return t, true
	}
	h := s.opts.Handler
	if h != nil {
		s.served++
	}
	s.mu.Unlock()
	if h == nil {
		return Turn{}, false
	}
	return h(rec), true
}

// wait sleeps d unless the client leaves or the server closes first.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.closing:
	}
	return false
}

func (s *Server) hold(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.closing:
	}
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	defer r.Body.Close()
	const limit = 32 << 20
	if r.ContentLength > 0 && r.ContentLength <= limit {
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err == nil && len(b) > limit {
		err = errors.New("request body larger than 32 MiB")
	}
	return b, err
}

// streamWriter writes SSE events and applies a Turn's cut, stall and
// stream-error settings.
type streamWriter struct {
	s *Server
	w http.ResponseWriter
	r *http.Request
	t Turn
	n int
}

func newStreamWriter(s *Server, w http.ResponseWriter, r *http.Request, t Turn) *streamWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	return &streamWriter{s: s, w: w, r: r, t: t}
}

// send writes one event and reports whether the stream continues.
func (sw *streamWriter) send(typ string, v any) bool {
	if sw.t.CutAfter > 0 && sw.n >= sw.t.CutAfter {
		// Abort the connection mid-stream, as a dropped network would.
		panic(http.ErrAbortHandler)
	}
	if sw.t.StallAfter > 0 && sw.n >= sw.t.StallAfter {
		sw.s.hold(sw.r)
		return false
	}
	data, err := json.Marshal(v)
	if err != nil {
		return false
	}
	return sw.raw(typ, data)
}

func (sw *streamWriter) raw(typ string, data []byte) bool {
	if err := sse.Encode(sw.w, sse.Event{Type: typ, Data: data}); err != nil {
		return false
	}
	if f, ok := sw.w.(http.Flusher); ok {
		f.Flush()
	}
	sw.n++
	return sw.r.Context().Err() == nil
}

// streamErrorDue reports whether the scripted stream error is due now.
func (sw *streamWriter) streamErrorDue(contentEvents int) bool {
	return sw.t.StreamError != nil && contentEvents >= sw.t.StreamErrorAfter
}

// splitText splits s into n pieces on rune boundaries (n <= 0: one piece
// per word, keeping the leading space with each word).
func splitText(s string, n int) []string {
	if s == "" {
		return nil
	}
	if n <= 0 {
		var out []string
		start := 0
		for i := 1; i < len(s); i++ {
			if s[i] == ' ' && s[i-1] != ' ' {
				out = append(out, s[start:i])
				start = i
			}
		}
		return append(out, s[start:])
	}
	runes := utf8.RuneCountInString(s)
	if n > runes {
		n = runes
	}
	out := make([]string, 0, n)
	per := runes / n
	rest := s
	for i := 0; i < n-1; i++ {
		cut := 0
		for k := 0; k < per; k++ {
			_, sz := utf8.DecodeRuneInString(rest[cut:])
			cut += sz
		}
		out = append(out, rest[:cut])
		rest = rest[cut:]
	}
	return append(out, rest)
}

// fragments splits tool arguments into pieces of about 8 bytes, as the
// vendors stream them.
func fragments(s string) []string {
	const size = 8
	var out []string
	for len(s) > size {
		cut := size
		for cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut++
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// tokens is the fake tokenizer: about four bytes a token, at least one.
func tokens(n int) int { return n/4 + 1 }
