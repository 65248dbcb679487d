package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// NewOpenAI starts a fake OpenAI Chat Completions server
// (POST /v1/chat/completions, GET /v1/models). Close it when done.
func NewOpenAI(opts Options) *Server {
	return newServer(&openaiVendor{}, opts, "/v1")
}

type openaiVendor struct{ seq atomic.Int64 }

func (*openaiVendor) path() string       { return "/v1/chat/completions" }
func (*openaiVendor) modelsPath() string { return "/v1/models" }

func (*openaiVendor) authorized(h http.Header, key string) (string, bool) {
	got, _ := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	return got, key == "" || got == key
}

// toolNameRE is the function-name rule both vendors enforce.
var toolNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

type oaWireMsg struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCallID *string         `json:"tool_call_id"`
	ToolCalls  []struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

type oaWireReq struct {
	Model    *string     `json:"model"`
	Messages []oaWireMsg `json:"messages"`
	Tools    []struct {
		Type     string `json:"type"`
		Function *struct {
			Name       string          `json:"name"`
			Parameters json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
	Stream        *bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage *bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           *int     `json:"max_tokens"`
	MaxCompletionTokens *int     `json:"max_completion_tokens"`
	Temperature         *float64 `json:"temperature"`
}

func (*openaiVendor) validate(r *http.Request, body []byte) (string, any) {
	v, req := decodeOpenAIRequest(r, body)
	return v, req
}

// decodeOpenAIRequest is validate, with the decoded request.
func decodeOpenAIRequest(r *http.Request, body []byte) (string, *oaWireReq) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return "Content-Type must be application/json, got " + strconv.Quote(ct), nil
	}
	var req oaWireReq
	if err := json.Unmarshal(body, &req); err != nil {
		return "We could not parse the JSON body of your request: " + err.Error(), nil
	}
	switch {
	case req.Model == nil || *req.Model == "":
		return "you must provide a model parameter", nil
	case len(req.Messages) == 0:
		return "'messages' must contain at least one message", nil
	case req.StreamOptions != nil && (req.Stream == nil || !*req.Stream):
		return "The 'stream_options' parameter is only allowed when 'stream' is enabled.", nil
	case req.MaxTokens != nil && req.MaxCompletionTokens != nil:
		return "max_tokens and max_completion_tokens cannot both be set", nil
	case req.MaxTokens != nil && *req.MaxTokens < 1, req.MaxCompletionTokens != nil && *req.MaxCompletionTokens < 1:
		return "max_tokens must be at least 1", nil
	case req.Temperature != nil && (*req.Temperature < 0 || *req.Temperature > 2):
		return "temperature must be between 0 and 2", nil
	}
	for i, t := range req.Tools {
		if t.Type != "function" || t.Function == nil {
			return fmt.Sprintf("tools[%d]: type must be \"function\" with a function object", i), nil
		}
		if !toolNameRE.MatchString(t.Function.Name) {
			return fmt.Sprintf("tools[%d].function.name: %q does not match ^[a-zA-Z0-9_-]{1,64}$", i, t.Function.Name), nil
		}
		if len(t.Function.Parameters) > 0 && !isObjectValue(t.Function.Parameters) {
			return fmt.Sprintf("tools[%d].function.parameters must be a JSON Schema object", i), nil
		}
	}
	pending := map[string]bool{}
	var pendingOrder []string
	for i, m := range req.Messages {
		if m.Role != "tool" && len(pending) > 0 {
			return fmt.Sprintf("messages[%d]: an assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id' (missing %s)", i, strings.Join(missing(pendingOrder, pending), ", ")), nil
		}
		switch m.Role {
		case "system", "developer", "user":
			if !isString(m.Content) && !isArray(m.Content) {
				return fmt.Sprintf("messages[%d].content must be a string", i), nil
			}
		case "assistant":
			if len(m.ToolCalls) == 0 && !isString(m.Content) {
				return fmt.Sprintf("messages[%d]: assistant content must be a string unless tool_calls is set", i), nil
			}
			if len(m.ToolCalls) > 0 && !isString(m.Content) && !isNull(m.Content) {
				return fmt.Sprintf("messages[%d].content must be a string or null", i), nil
			}
			pendingOrder = pendingOrder[:0]
			for j, tc := range m.ToolCalls {
				switch {
				case tc.ID == "":
					return fmt.Sprintf("messages[%d].tool_calls[%d].id is required", i, j), nil
				case tc.Type != "function":
					return fmt.Sprintf("messages[%d].tool_calls[%d].type must be \"function\"", i, j), nil
				case tc.Function.Name == "":
					return fmt.Sprintf("messages[%d].tool_calls[%d].function.name is required", i, j), nil
				case !isString(tc.Function.Arguments):
					return fmt.Sprintf("messages[%d].tool_calls[%d].function.arguments must be a string", i, j), nil
				}
				pending[tc.ID] = true
				pendingOrder = append(pendingOrder, tc.ID)
			}
		case "tool":
			if m.ToolCallID == nil || !pending[*m.ToolCallID] {
				return fmt.Sprintf("messages[%d]: messages with role 'tool' must be a response to a preceding message with 'tool_calls'", i), nil
			}
			if !isString(m.Content) && !isArray(m.Content) {
				return fmt.Sprintf("messages[%d].content must be a string", i), nil
			}
			delete(pending, *m.ToolCallID)
		default:
			return fmt.Sprintf("messages[%d].role: %q is not one of system, developer, user, assistant, tool", i, m.Role), nil
		}
	}
	return "", &req
}

func missing(order []string, pending map[string]bool) []string {
	var out []string
	for _, id := range order {
		if pending[id] {
			out = append(out, id)
		}
	}
	return out
}

func isString(raw json.RawMessage) bool { return len(raw) > 0 && raw[0] == '"' }
func isArray(raw json.RawMessage) bool  { return len(raw) > 0 && raw[0] == '[' }

// isObjectValue reports whether raw, a value of a document json.Unmarshal
// accepted (so valid JSON, without surrounding space), is an object.
func isObjectValue(raw json.RawMessage) bool { return len(raw) > 0 && raw[0] == '{' }

func isObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil && m != nil
}
func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

func (*openaiVendor) writeError(w http.ResponseWriter, e Error) {
	if e.Status == 0 {
		e.Status = http.StatusInternalServerError
	}
	if e.Type == "" {
		switch {
		case e.Status == http.StatusTooManyRequests:
			e.Type = "requests"
		case e.Status >= 500:
			e.Type = "server_error"
		default:
			e.Type = "invalid_request_error"
		}
	}
	if e.Code == "" {
		switch e.Status {
		case http.StatusUnauthorized:
			e.Code = "invalid_api_key"
		case http.StatusTooManyRequests:
			e.Code = "rate_limit_exceeded"
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(e.Status)
	}
	var code any
	if e.Code != "" {
		code = e.Code
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-request-id", "req_llmtest")
	if e.RetryAfter != "" {
		h.Set("Retry-After", e.RetryAfter)
	}
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": e.Message, "type": e.Type, "param": nil, "code": code}})
}

func (*openaiVendor) writeModels(w http.ResponseWriter, _ *http.Request, models []string, _ int) {
	data := make([]map[string]any, 0, len(models))
	for _, m := range models {
		data = append(data, map[string]any{"id": m, "object": "model", "created": 1700000000, "owned_by": "llmtest"})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
}

type oaCallOut struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

func (v *openaiVendor) answer(s *Server, w http.ResponseWriter, r *http.Request, body []byte, parsed any, t Turn) {
	req, _ := parsed.(*oaWireReq)
	if req == nil {
		req = new(oaWireReq)
	} // validated already
	model := s.opts.Model
	if model == "" && req.Model != nil {
		model = *req.Model
	}
	n := v.seq.Add(1)
	id := fmt.Sprintf("chatcmpl-llmtest-%d", n)
	calls := make([]oaCallOut, len(t.ToolCalls))
	outBytes := len(t.Text)
	for i, c := range t.ToolCalls {
		calls[i].ID = c.ID
		if calls[i].ID == "" {
			calls[i].ID = fmt.Sprintf("call_%d_%d", n, i)
		}
		calls[i].Type = "function"
		calls[i].Function.Name, calls[i].Function.Arguments = c.Name, c.Arguments
		outBytes += len(c.Name) + len(c.Arguments)
	}
	finish := t.StopReason
	if finish == "" {
		finish = "stop"
		if len(calls) > 0 {
			finish = "tool_calls"
		}
	}
	usage := map[string]int{"prompt_tokens": tokens(len(body)), "completion_tokens": tokens(outBytes)}
	if t.Usage.InputTokens > 0 {
		usage["prompt_tokens"] = t.Usage.InputTokens
	}
	if t.Usage.OutputTokens > 0 {
		usage["completion_tokens"] = t.Usage.OutputTokens
	}
	usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
	created := time.Now().Unix()

	if req.Stream == nil || !*req.Stream {
		msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil}
		if t.Text != "" || len(calls) == 0 {
			msg["content"] = t.Text
		}
		if len(calls) > 0 {
			msg["tool_calls"] = calls
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": id, "object": "chat.completion", "created": created, "model": model,
			"choices": []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish}},
			"usage":   usage,
		})
		return
	}

	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage != nil && *req.StreamOptions.IncludeUsage
	sw := newStreamWriter(s, w, r, t)
	chunk := func(delta map[string]any, finish any) map[string]any {
		c := map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"system_fingerprint": "fp_llmtest",
			"choices":            []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}}
		if includeUsage {
			c["usage"] = nil
		}
		return c
	}
	content := 0
	sendContent := func(delta map[string]any) bool {
		if sw.streamErrorDue(content) {
			e := *t.StreamError
			if e.Type == "" {
				e.Type = "server_error"
			}
			if e.Message == "" {
				e.Message = "The server had an error while processing your request."
			}
			sw.send("", map[string]any{"error": map[string]any{"message": e.Message, "type": e.Type, "param": nil, "code": nilIfEmpty(e.Code)}})
			return false
		}
		content++
		return sw.send("", chunk(delta, nil))
	}
	if !sw.send("", chunk(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil)) {
		return
	}
	for _, piece := range splitText(t.Text, t.Chunks) {
		if !sendContent(map[string]any{"content": piece}) {
			return
		}
	}
	for i, c := range calls {
		head := map[string]any{"index": i, "id": c.ID, "type": "function",
			"function": map[string]any{"name": c.Function.Name, "arguments": ""}}
		if !sendContent(map[string]any{"tool_calls": []any{head}}) {
			return
		}
		for _, frag := range fragments(c.Function.Arguments) {
			d := map[string]any{"index": i, "function": map[string]any{"arguments": frag}}
			if !sendContent(map[string]any{"tool_calls": []any{d}}) {
				return
			}
		}
	}
	if sw.streamErrorDue(content) {
		sendContent(nil)
		return
	}
	if !sw.send("", chunk(map[string]any{}, finish)) {
		return
	}
	if includeUsage {
		if !sw.send("", map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"system_fingerprint": "fp_llmtest", "choices": []any{}, "usage": usage}) {
			return
		}
	}
	sw.raw("", []byte("[DONE]"))
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
