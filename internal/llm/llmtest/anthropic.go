package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// NewAnthropic starts a fake Anthropic Messages API server
// (POST /v1/messages, GET /v1/models with pagination). Close it when done.
func NewAnthropic(opts Options) *Server {
	return newServer(&anthropicVendor{}, opts, "")
}

type anthropicVendor struct{ seq atomic.Int64 }

// AnthropicVersion is the only anthropic-version the fake server accepts.
const AnthropicVersion = "2023-06-01"

func (*anthropicVendor) path() string       { return "/v1/messages" }
func (*anthropicVendor) modelsPath() string { return "/v1/models" }

func (*anthropicVendor) authorized(h http.Header, key string) (string, bool) {
	got := h.Get("x-api-key")
	return got, key == "" || got == key
}

type anWireBlock struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	IsError   json.RawMessage `json:"is_error"`
}

type anWireReq struct {
	Model     *string `json:"model"`
	MaxTokens *int    `json:"max_tokens"`
	Messages  []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	System json.RawMessage `json:"system"`
	Tools  []struct {
		Name        string          `json:"name"`
		InputSchema json.RawMessage `json:"input_schema"`
	} `json:"tools"`
	Temperature *float64 `json:"temperature"`
	Stream      *bool    `json:"stream"`
}

func (*anthropicVendor) validate(r *http.Request, body []byte) (string, any) {
	v, req := decodeAnthropicRequest(r, body)
	return v, req
}

// decodeAnthropicRequest is validate, with the decoded request.
func decodeAnthropicRequest(r *http.Request, body []byte) (string, *anWireReq) {
	if v := r.Header.Get("anthropic-version"); v != AnthropicVersion {
		return "anthropic-version: header is required and must be " + AnthropicVersion + ", got " + strconv.Quote(v), nil
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return "Content-Type must be application/json, got " + strconv.Quote(ct), nil
	}
	var req anWireReq
	if err := json.Unmarshal(body, &req); err != nil {
		return "There was an error parsing the body: " + err.Error(), nil
	}
	switch {
	case req.Model == nil || *req.Model == "":
		return "model: Field required", nil
	case req.MaxTokens == nil:
		return "max_tokens: Field required", nil
	case *req.MaxTokens < 1:
		return "max_tokens: must be greater than or equal to 1", nil
	case len(req.Messages) == 0:
		return "messages: at least one message is required", nil
	case req.Temperature != nil && (*req.Temperature < 0 || *req.Temperature > 1):
		return "temperature: must be between 0 and 1", nil
	}
	if len(req.System) > 0 && !isString(req.System) && !isArray(req.System) {
		return "system: must be a string or an array of text blocks", nil
	}
	for i, t := range req.Tools {
		if !toolNameRE.MatchString(t.Name) {
			return fmt.Sprintf("tools.%d.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'", i), nil
		}
		if !isObjectValue(t.InputSchema) {
			return fmt.Sprintf("tools.%d.input_schema: Field required (a JSON Schema object)", i), nil
		}
	}
	var prevUses []string // tool_use ids of the preceding assistant message
	for i, m := range req.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return fmt.Sprintf("messages.%d.role: Input should be 'user' or 'assistant'", i), nil
		}
		var blocks []anWireBlock
		switch {
		case isString(m.Content):
			var s string
			_ = json.Unmarshal(m.Content, &s)
			if s == "" && !(m.Role == "assistant" && i == len(req.Messages)-1) {
				return fmt.Sprintf("messages.%d: all messages must have non-empty content except for the optional final assistant message", i), nil
			}
			blocks = []anWireBlock{{Type: "text", Text: &s}}
		case isArray(m.Content):
			if err := json.Unmarshal(m.Content, &blocks); err != nil {
				return fmt.Sprintf("messages.%d.content: %v", i, err), nil
			}
			if len(blocks) == 0 && !(m.Role == "assistant" && i == len(req.Messages)-1) {
				return fmt.Sprintf("messages.%d: all messages must have non-empty content except for the optional final assistant message", i), nil
			}
		default:
			return fmt.Sprintf("messages.%d.content: must be a string or an array of content blocks", i), nil
		}
		if msg := checkBlocks(i, m.Role, blocks, prevUses); msg != "" {
			return msg, nil
		}
		prevUses = prevUses[:0]
		if m.Role == "assistant" {
			for _, b := range blocks {
				if b.Type == "tool_use" {
					prevUses = append(prevUses, b.ID)
				}
			}
		}
	}
	if len(prevUses) > 0 {
		return "the final assistant message has tool_use blocks without tool_result blocks after it", nil
	}
	return "", &req
}

func checkBlocks(i int, role string, blocks []anWireBlock, prevUses []string) string {
	results := map[string]bool{}
	seenOther := false
	for j, b := range blocks {
		switch b.Type {
		case "text":
			if b.Text == nil || *b.Text == "" {
				return fmt.Sprintf("messages.%d.content.%d.text: text content blocks must be non-empty", i, j)
			}
			seenOther = true
		case "tool_use":
			if role != "assistant" {
				return fmt.Sprintf("messages.%d.content.%d: tool_use blocks are only allowed in assistant messages", i, j)
			}
			if b.ID == "" || b.Name == "" || !isObjectValue(b.Input) {
				return fmt.Sprintf("messages.%d.content.%d: tool_use needs id, name and an input object", i, j)
			}
		case "tool_result":
			if role != "user" {
				return fmt.Sprintf("messages.%d.content.%d: tool_result blocks are only allowed in user messages", i, j)
			}
			if seenOther {
				return fmt.Sprintf("messages.%d.content.%d: tool_result blocks must come before any other content", i, j)
			}
			if !contains(prevUses, b.ToolUseID) {
				return fmt.Sprintf("messages.%d.content.%d: unexpected tool_use_id found in tool_result blocks: %s. Each tool_result block must have a corresponding tool_use block in the previous message.", i, j, b.ToolUseID)
			}
			if len(b.Content) > 0 && !isString(b.Content) && !isArray(b.Content) {
				return fmt.Sprintf("messages.%d.content.%d.content: must be a string or an array", i, j)
			}
			if len(b.IsError) > 0 && string(b.IsError) != "true" && string(b.IsError) != "false" {
				return fmt.Sprintf("messages.%d.content.%d.is_error: must be a boolean", i, j)
			}
			results[b.ToolUseID] = true
		default:
			return fmt.Sprintf("messages.%d.content.%d.type: unsupported block type %q", i, j, b.Type)
		}
	}
	for _, id := range prevUses {
		if !results[id] {
			return fmt.Sprintf("messages.%d: tool_use ids were found without tool_result blocks immediately after: %s. Each tool_use block must have a corresponding tool_result block in the next message.", i, id)
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (*anthropicVendor) writeError(w http.ResponseWriter, e Error) {
	if e.Status == 0 {
		e.Status = http.StatusInternalServerError
	}
	if e.Type == "" {
		e.Type = anErrorType(e.Status)
	}
	if e.Message == "" {
		e.Message = http.StatusText(e.Status)
		if e.Status == 529 {
			e.Message = "Overloaded"
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("request-id", "req_llmtest")
	if e.RetryAfter != "" {
		h.Set("retry-after", e.RetryAfter)
	}
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "error",
		"error": map[string]any{"type": e.Type, "message": e.Message}})
}

func anErrorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// writeModels serves one page of the list, honouring limit and after_id
// (capped by Options.ModelsPageSize so tests can force pagination).
func (*anthropicVendor) writeModels(w http.ResponseWriter, r *http.Request, models []string, pageSize int) {
	q := r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 || limit > 1000 {
		limit = 20
	}
	if pageSize > 0 && limit > pageSize {
		limit = pageSize
	}
	start := 0
	if after := q.Get("after_id"); after != "" {
		for i, m := range models {
			if m == after {
				start = i + 1
			}
		}
	}
	end := min(start+limit, len(models))
	data := []any{}
	for _, m := range models[start:end] {
		data = append(data, map[string]any{"type": "model", "id": m, "display_name": strings.ToUpper(m),
			"created_at": "2025-02-19T00:00:00Z"})
	}
	page := map[string]any{"data": data, "has_more": end < len(models), "first_id": nil, "last_id": nil}
	if end > start {
		page["first_id"], page["last_id"] = models[start], models[end-1]
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(page)
}

func (v *anthropicVendor) answer(s *Server, w http.ResponseWriter, r *http.Request, body []byte, parsed any, t Turn) {
	req, _ := parsed.(*anWireReq)
	if req == nil {
		req = new(anWireReq)
	}
	model := s.opts.Model
	if model == "" && req.Model != nil {
		model = *req.Model
	}
	n := v.seq.Add(1)
	id := fmt.Sprintf("msg_llmtest_%d", n)
	outBytes := len(t.Text)
	for _, c := range t.ToolCalls {
		outBytes += len(c.Name) + len(c.Arguments)
	}
	stop := t.StopReason
	if stop == "" {
		stop = "end_turn"
		if len(t.ToolCalls) > 0 {
			stop = "tool_use"
		}
	}
	in, out := tokens(len(body)), tokens(outBytes)
	if t.Usage.InputTokens > 0 {
		in = t.Usage.InputTokens
	}
	if t.Usage.OutputTokens > 0 {
		out = t.Usage.OutputTokens
	}
	callID := func(i int, c ToolCall) string {
		if c.ID != "" {
			return c.ID
		}
		return fmt.Sprintf("toolu_llmtest_%d_%d", n, i)
	}
	if req.Stream == nil || !*req.Stream {
		var content []any
		if t.Text != "" {
			content = append(content, map[string]any{"type": "text", "text": t.Text})
		}
		for i, c := range t.ToolCalls {
			content = append(content, map[string]any{"type": "tool_use", "id": callID(i, c), "name": c.Name,
				"input": json.RawMessage(orEmptyObject(c.Arguments))})
		}
		if content == nil {
			content = []any{}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "type": "message", "role": "assistant",
			"model": model, "content": content, "stop_reason": stop, "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": in, "output_tokens": out}})
		return
	}
	sw := newStreamWriter(s, w, r, t)
	content := 0
	sendContent := func(typ string, v any) bool {
		if sw.streamErrorDue(content) {
			e := *t.StreamError
			if e.Type == "" {
				e.Type = "overloaded_error"
			}
			if e.Message == "" {
				e.Message = "Overloaded"
			}
			sw.send("error", map[string]any{"type": "error", "error": map[string]any{"type": e.Type, "message": e.Message}})
			return false
		}
		content++
		return sw.send(typ, v)
	}
	if !sw.send("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "content": []any{}, "model": model,
		"stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": in, "output_tokens": 1}}}) {
		return
	}
	idx := 0
	if t.Text != "" {
		if !sw.send("content_block_start", map[string]any{"type": "content_block_start", "index": idx,
			"content_block": map[string]any{"type": "text", "text": ""}}) {
			return
		}
		if !sw.send("ping", map[string]any{"type": "ping"}) {
			return
		}
		for _, piece := range splitText(t.Text, t.Chunks) {
			if !sendContent("content_block_delta", map[string]any{"type": "content_block_delta", "index": idx,
				"delta": map[string]any{"type": "text_delta", "text": piece}}) {
				return
			}
		}
		if !sw.send("content_block_stop", map[string]any{"type": "content_block_stop", "index": idx}) {
			return
		}
		idx++
	}
	for i, c := range t.ToolCalls {
		if !sendContent("content_block_start", map[string]any{"type": "content_block_start", "index": idx,
			"content_block": map[string]any{"type": "tool_use", "id": callID(i, c), "name": c.Name, "input": map[string]any{}}}) {
			return
		}
		frags := append([]string{""}, fragments(c.Arguments)...)
		for _, f := range frags {
			if !sendContent("content_block_delta", map[string]any{"type": "content_block_delta", "index": idx,
				"delta": map[string]any{"type": "input_json_delta", "partial_json": f}}) {
				return
			}
		}
		if !sw.send("content_block_stop", map[string]any{"type": "content_block_stop", "index": idx}) {
			return
		}
		idx++
	}
	if sw.streamErrorDue(content) {
		sendContent("", nil)
		return
	}
	if !sw.send("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": out}}) {
		return
	}
	sw.send("message_stop", map[string]any{"type": "message_stop"})
}

// orEmptyObject returns s if it is a JSON object, else "{}" (the real API
// only ever returns an object as a tool_use input).
func orEmptyObject(s string) string {
	if !isObject(json.RawMessage(s)) {
		return "{}"
	}
	return s
}
