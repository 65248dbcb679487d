package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/channels"
	"github.com/weftos/weftos/internal/llm"
)

// maxBody bounds a request body.
const maxBody = 4 << 20

// apiError is OpenAI's error body.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func errBody(typ, param, code, msg string) apiError {
	e := apiError{Error: apiErrorBody{Message: msg, Type: typ}}
	if param != "" {
		e.Error.Param = &param
	}
	if code != "" {
		e.Error.Code = &code
	}
	return e
}

// writeError answers OpenAI's {"error":{message,type,param,code}}.
func writeError(w http.ResponseWriter, status int, typ, param, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errBody(typ, param, code, msg))
}

// modelObject is one entry of GET /v1/models.
type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type modelList struct {
	Object string        `json:"object"`
	Data   []modelObject `json:"data"`
}

func (s *Server) model(agent string) modelObject {
	return modelObject{ID: ModelPrefix + agent, Object: "model", Created: s.opts.Created.Unix(), OwnedBy: "weftos"}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	out := modelList{Object: "list", Data: []modelObject{}}
	for _, a := range s.agents(tokenFrom(r.Context())) {
		out.Data = append(out.Data, s.model(a))
	}
	writeJSON(w, out)
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	a, ok := s.agentOf(tokenFrom(r.Context()), id)
	if !ok || !slices.Contains(s.agents(tokenFrom(r.Context())), a) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "model", "model_not_found", fmt.Sprintf("The model %q does not exist or this token cannot reach it", id))
		return
	}
	writeJSON(w, s.model(a))
}

// chatRequest is the part of a Chat Completions request the gateway reads;
// other parameters (temperature, max_tokens, …) are accepted and ignored:
// the agent's definition decides them.
type chatRequest struct {
	Model         string          `json:"model"`
	Messages      []chatMessage   `json:"messages"`
	Stream        bool            `json:"stream"`
	StreamOptions *streamOptions  `json:"stream_options"`
	User          string          `json:"user"`
	Tools         json.RawMessage `json:"tools"`
	Functions     json.RawMessage `json:"functions"`
	N             *int            `json:"n"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// contentPart is one element of an array content.
type contentPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// errRequest is a request the gateway cannot serve: the param and message.
type errRequest struct {
	param, code, msg string
}

func (e *errRequest) Error() string { return e.msg }

// ContentText returns the text of a message's content: a string, an array
// of parts (text parts concatenated; other kinds refused) or null.
func ContentText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	if raw[0] != '[' {
		return "", errors.New("content must be a string or an array of content parts")
	}
	var parts []contentPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", err
	}
	var b strings.Builder
	for i, p := range parts {
		if p.Type != "text" {
			return "", fmt.Errorf("content part %d is of type %q: only text parts are supported", i, p.Type)
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// parseChat reads and checks a chat request; the error is an *errRequest.
func parseChat(body []byte) (chatRequest, []string, error) {
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return req, nil, &errRequest{"", "invalid_json", "We could not parse the JSON body of your request: " + err.Error()}
	}
	switch {
	case req.Model == "":
		return req, nil, &errRequest{"model", "missing_required_parameter", "you must provide a model parameter"}
	case len(req.Messages) == 0:
		return req, nil, &errRequest{"messages", "missing_required_parameter", "'messages' must contain at least one message"}
	case hasTools(req.Tools) || hasTools(req.Functions):
		return req, nil, &errRequest{"tools", "unsupported_parameter",
			"'tools' is not supported: a WeftOS agent calls its own tools, decided and recorded on its node; send the request without tools"}
	case req.N != nil && *req.N != 1:
		return req, nil, &errRequest{"n", "unsupported_parameter", "only n=1 is supported"}
	case req.StreamOptions != nil && !req.Stream:
		return req, nil, &errRequest{"stream_options", "invalid_value", "The 'stream_options' parameter is only allowed when 'stream' is enabled."}
	}
	texts := make([]string, len(req.Messages))
	for i, m := range req.Messages {
		switch m.Role {
		case "system", "developer", "user", "assistant":
		case "tool", "function":
			return req, nil, &errRequest{fmt.Sprintf("messages[%d].role", i), "unsupported_parameter", "tool messages are not supported: the agent runs its own tools"}
		default:
			return req, nil, &errRequest{fmt.Sprintf("messages[%d].role", i), "invalid_value", fmt.Sprintf("unknown role %q", m.Role)}
		}
		t, err := ContentText(m.Content)
		if err != nil {
			return req, nil, &errRequest{fmt.Sprintf("messages[%d].content", i), "invalid_value", err.Error()}
		}
		texts[i] = t
	}
	last := len(req.Messages) - 1
	if req.Messages[last].Role != "user" || strings.TrimSpace(texts[last]) == "" {
		return req, nil, &errRequest{fmt.Sprintf("messages[%d]", last), "invalid_value", "the last message must be a non-empty user message"}
	}
	return req, texts, nil
}

func hasTools(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && string(raw) != "null" && string(raw) != "[]"
}

// Transcript renders a stateless request's earlier messages and its last
// user message as one message for the agent: the agent's session holds
// no history of a stateless conversation, so the client's is quoted.
func Transcript(msgs []chatMessage, texts []string) string {
	last := len(msgs) - 1
	if last == 0 {
		return texts[0]
	}
	var b strings.Builder
	b.WriteString("The conversation so far, as the client sent it:\n<conversation>\n")
	for i := range last {
		fmt.Fprintf(&b, "[%s]: %s\n", msgs[i].Role, texts[i])
	}
	b.WriteString("</conversation>\n\n")
	b.WriteString(texts[last])
	return b.String()
}

// sessionHeaders name a conversation; the first present wins.
var sessionHeaders = []string{"X-Weft-Session", "X-OpenWebUI-Chat-Id"}

// handleChat serves POST /v1/chat/completions.
func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	t := tokenFrom(r.Context())
	body, err := readBody(w, r, maxBody)
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "", "request_too_large", "the request body is too large or unreadable")
		return
	}
	req, texts, err := parseChat(body)
	if err != nil {
		e := err.(*errRequest)
		writeError(w, http.StatusBadRequest, "invalid_request_error", e.param, e.code, e.msg)
		return
	}
	agent, ok := s.agentOf(t, req.Model)
	if !ok {
		writeError(w, http.StatusNotFound, "invalid_request_error", "model", "model_not_found", fmt.Sprintf("The model %q does not exist or this token cannot reach it", req.Model))
		return
	}
	key := ""
	for _, h := range sessionHeaders {
		if v := r.Header.Get(h); v != "" {
			key = v
			break
		}
	}
	if key == "" {
		key = req.User
	}
	sender := t.ID
	if req.User != "" {
		sender = t.ID + "/" + channels.SafeID(req.User)
	}
	if !s.allow(w, s.opts.PerSender, "sender/"+sender) {
		return
	}
	last := len(req.Messages) - 1
	if a, ok := taskAnswer(texts[last]); ok {
		// A chat front-end's housekeeping (a title, tags): answered
		// here, without a model call or the agent's session.
		s.answer(w, req, a, llm.Usage{})
		return
	}
	m := channels.Message{Channel: "openai", Sender: sender, Agent: agent}
	if key != "" {
		// A conversation the client names: the session keeps its history,
		// so only the new message goes to the agent.
		m.Session, m.Text = channels.SessionName("oai", t.ID, key), texts[last]
	} else {
		m.Session, m.Text, m.Once = channels.SessionName("oai", t.ID, "x"+randomHex(6)), Transcript(req.Messages, texts), true
	}
	// The run ends when the client goes away or the gateway closes.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()
	r = r.WithContext(ctx)
	if !req.Stream {
		rep, err := s.opts.Hub.Exchange(ctx, m, nil)
		if err != nil {
			s.writeRunError(w, err)
			return
		}
		s.answer(w, req, rep.Answer, rep.Usage)
		return
	}
	s.stream(w, r, req, m)
}

// bodyTimeout bounds the time a request body may take to arrive (a slow
// body holds a connection and a rate-limit slot).
const bodyTimeout = 10 * time.Second

// readBody reads a request body of at most limit bytes within bodyTimeout.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bodyTimeout))
	defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
}

// writeRunError answers a failed exchange with OpenAI's error shape.
func (s *Server) writeRunError(w http.ResponseWriter, err error) {
	status, typ, code := s.classify(err)
	writeError(w, status, typ, "", code, err.Error())
}

// classify maps a failed exchange to an HTTP status, an OpenAI error type
// and a code.
func (s *Server) classify(err error) (int, string, string) {
	var re *channels.RunError
	code := s.opts.Code(err) // refusals (denied, chain_unavailable, …), start failures
	if errors.As(err, &re) {
		code = re.Code // the run's own code
	}
	status := apitype.StatusForCode(code)
	switch code {
	case apitype.CodeInvalidAgent:
		status, code = http.StatusNotFound, "model_not_found"
	case "max_turns", "loop_guard", "agent_error":
		status = http.StatusInternalServerError
	case "cancelled", "shutting_down", "stopped":
		status = http.StatusServiceUnavailable
	case "model_auth":
		status = http.StatusBadGateway
	}
	typ := "server_error"
	switch {
	case status == http.StatusUnauthorized:
		typ = "authentication_error"
	case status == http.StatusForbidden:
		typ = "permission_error"
	case status == http.StatusNotFound:
		typ = "not_found_error"
	case status == http.StatusTooManyRequests:
		typ = "rate_limit_error"
	case status >= 400 && status < 500:
		typ = "invalid_request_error"
	}
	return status, typ, code
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// completion is a non-streamed answer.
type completion struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	Choices           []choice `json:"choices"`
	Usage             usage    `json:"usage"`
	SystemFingerprint *string  `json:"system_fingerprint"`
}

type choice struct {
	Index        int            `json:"index"`
	Message      *choiceMessage `json:"message,omitempty"`
	Delta        *choiceMessage `json:"delta,omitempty"`
	Logprobs     *struct{}      `json:"logprobs"`
	FinishReason *string        `json:"finish_reason"`
}

type choiceMessage struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
	Refusal *string `json:"refusal,omitempty"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func toUsage(u llm.Usage) usage {
	return usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.InputTokens + u.OutputTokens}
}

// answer writes a whole answer, streamed (one content chunk) or not.
func (s *Server) answer(w http.ResponseWriter, req chatRequest, text string, u llm.Usage) {
	id := "chatcmpl-" + randomHex(12)
	created := s.opts.Clock.Now().Unix()
	if req.Stream {
		sw := newSSE(w)
		c := chunker{id: id, created: created, model: req.Model, usage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage}
		_ = sw.data(c.role())
		if text != "" {
			_ = sw.data(c.content(text))
		}
		_ = sw.data(c.finish("stop"))
		if c.usage {
			_ = sw.data(c.usageChunk(u))
		}
		_ = sw.done()
		return
	}
	stop := "stop"
	writeJSON(w, completion{ID: id, Object: "chat.completion", Created: created, Model: req.Model,
		Choices: []choice{{Index: 0, Message: &choiceMessage{Role: "assistant", Content: &text}, FinishReason: &stop}}, Usage: toUsage(u)})
}
