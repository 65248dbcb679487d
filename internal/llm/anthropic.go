package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/llm/sse"
)

// Anthropic is a client for Anthropic's Messages API.
type Anthropic struct {
	t transport
}

var _ Provider = (*Anthropic)(nil)

// NewAnthropic returns a Messages API client for cfg (Kind may be empty).
func NewAnthropic(cfg Config) (*Anthropic, error) {
	r, err := resolveKind(cfg, KindAnthropic, "NewAnthropic")
	if err != nil {
		return nil, err
	}
	c := &Anthropic{t: transport{cfg: r}}
	c.t.auth = func(h http.Header) {
		if r.key != "" {
			h.Set("x-api-key", string(r.key))
		}
		h.Set("anthropic-version", r.AnthropicVersion)
	}
	return c, nil
}

// Name returns the registry name.
func (c *Anthropic) Name() string { return c.t.cfg.Name }

// CloseIdleConnections releases pooled connections.
func (c *Anthropic) CloseIdleConnections() { c.t.cfg.HTTPClient.CloseIdleConnections() }

// Wire types of the Messages API.
type (
	// A request body is anRequest's members, then "tools" (encoded once
	// per tool list, see toolCache), then anRequestTail's.
	anRequest struct {
		Model     string      `json:"model"`
		MaxTokens int         `json:"max_tokens"`
		System    string      `json:"system,omitempty"`
		Messages  []anMessage `json:"messages"`
	}
	anRequestTail struct {
		Temperature   *float64 `json:"temperature,omitempty"`
		StopSequences []string `json:"stop_sequences,omitempty"`
		Stream        bool     `json:"stream,omitempty"`
	}
	anMessage struct {
		Role    string    `json:"role"`
		Content []anBlock `json:"content"`
	}
	// anBlock is a request content block: text, tool_use or tool_result.
	anBlock struct {
		Type      string          `json:"type"`
		Text      string          `json:"text,omitempty"`
		ID        string          `json:"id,omitempty"`
		Name      string          `json:"name,omitempty"`
		Input     json.RawMessage `json:"input,omitempty"`
		ToolUseID string          `json:"tool_use_id,omitempty"`
		Content   string          `json:"content,omitempty"`
		IsError   bool            `json:"is_error,omitempty"`
	}
	anTool struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		InputSchema json.RawMessage `json:"input_schema"`
	}
	anUsage struct {
		InputTokens              int `json:"input_tokens"`
		OutputTokens             int `json:"output_tokens"`
		CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	}
	// anRespBlock is a response content block.
	anRespBlock struct {
		Type  string          `json:"type"`
		Text  string          `json:"text"`
		ID    string          `json:"id"`
		Name  string          `json:"name"`
		Input json.RawMessage `json:"input"`
	}
	anResponse struct {
		ID         string        `json:"id"`
		Model      string        `json:"model"`
		Content    []anRespBlock `json:"content"`
		StopReason string        `json:"stop_reason"`
		Usage      *anUsage      `json:"usage"`
	}
)

func (u *anUsage) neutral() Usage {
	if u == nil {
		return Usage{}
	}
	return Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
		CacheReadTokens: u.CacheReadInputTokens, CacheWriteTokens: u.CacheCreationInputTokens}
}

// toolInput returns args as a tool_use input object: Anthropic requires a
// JSON object, so anything else (a model's invalid JSON) becomes {}.
func toolInput(args json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(args)
	if len(t) > 0 && t[0] == '{' && json.Valid(t) {
		return t
	}
	return json.RawMessage("{}")
}

func (c *Anthropic) encode(req *Request, stream bool) ([]byte, error) {
	if req.Model == "" {
		return nil, fmt.Errorf("llm: %s: %w: model is required", c.Name(), ErrBadRequest)
	}
	out := anRequest{Model: req.Model, MaxTokens: req.MaxTokens}
	tail := anRequestTail{Temperature: req.Temperature, StopSequences: req.Stop, Stream: stream}
	if out.MaxTokens <= 0 {
		out.MaxTokens = c.t.cfg.MaxTokens
	}
	system := []string{}
	if req.System != "" {
		system = append(system, req.System)
	}
	add := func(role string, b anBlock) {
		if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == role {
			out.Messages[n-1].Content = append(out.Messages[n-1].Content, b)
			return
		}
		out.Messages = append(out.Messages, anMessage{Role: role, Content: []anBlock{b}})
	}
	for i, m := range req.Messages {
		switch m.Role {
		case RoleSystem:
			if m.Content != "" {
				system = append(system, m.Content)
			}
		case RoleUser:
			if m.Content == "" {
				return nil, fmt.Errorf("llm: %s: %w: message %d: empty user message", c.Name(), ErrBadRequest, i)
			}
			add("user", anBlock{Type: "text", Text: m.Content})
		case RoleAssistant:
			// Anthropic rejects empty text blocks; an empty assistant turn
			// (no text, no calls) carries nothing and is left out.
			if m.Content != "" {
				add("assistant", anBlock{Type: "text", Text: m.Content})
			}
			for _, tc := range m.ToolCalls {
				add("assistant", anBlock{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: toolInput(tc.Arguments)})
			}
		case RoleTool:
			if m.ToolCallID == "" {
				return nil, fmt.Errorf("llm: %s: %w: message %d: tool result without ToolCallID", c.Name(), ErrBadRequest, i)
			}
			add("user", anBlock{Type: "tool_result", ToolUseID: m.ToolCallID, Content: m.Content, IsError: m.IsError})
		default:
			return nil, fmt.Errorf("llm: %s: %w: message %d: unknown role %q", c.Name(), ErrBadRequest, i, m.Role)
		}
	}
	if len(out.Messages) == 0 {
		return nil, fmt.Errorf("llm: %s: %w: no messages", c.Name(), ErrBadRequest)
	}
	out.System = strings.Join(system, "\n\n")
	tools, err := c.t.tools.encoded(req.Tools, c.encodeTools)
	if err != nil {
		return nil, err
	}
	return bodyWithTools(out, tools, tail)
}

// encodeTools encodes the request's "tools" list.
func (c *Anthropic) encodeTools(specs []ToolSpec) ([]byte, error) {
	tools := make([]anTool, 0, len(specs))
	for _, t := range specs {
		schema := t.Parameters
		if len(bytes.TrimSpace(schema)) == 0 {
			schema = emptyObjectSchema
		} else if !json.Valid(schema) {
			return nil, fmt.Errorf("llm: %s: %w: tool %q: parameters are not valid JSON", c.Name(), ErrBadRequest, t.Name)
		}
		tools = append(tools, anTool{Name: t.Name, Description: t.Description, InputSchema: schema})
	}
	return marshalBody(tools)
}

// Chat implements Provider.
func (c *Anthropic) Chat(ctx context.Context, req *Request, onDelta func(Delta)) (*Response, error) {
	if req == nil {
		return nil, fmt.Errorf("llm: %s: %w: nil request", c.Name(), ErrBadRequest)
	}
	body, err := c.encode(req, onDelta != nil)
	if err != nil {
		return nil, err
	}
	return c.t.chat(ctx, "/v1/messages", fixedBody(body), onDelta, c.decodeResponse, func() streamHandler {
		st := newANStream(c.Name())
		return streamHandler{
			handle: func(ev sse.Event, emit func(Delta)) (bool, error) { return st.handle(ev.Type, ev.Data, emit) },
			finish: st.finish,
		}
	})
}

func (c *Anthropic) decodeResponse(r io.Reader) (*Response, error) {
	var raw anResponse
	if err := decodeJSONBody(r, &raw); err != nil {
		return nil, protocolError(c.Name(), "decoding message: %v", err)
	}
	res := &Response{Provider: c.Name(), Model: raw.Model, ID: raw.ID,
		Message: Message{Role: RoleAssistant}, RawStopReason: raw.StopReason, Usage: raw.Usage.neutral()}
	var text strings.Builder
	for _, b := range raw.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			res.Message.ToolCalls = append(res.Message.ToolCalls,
				ToolCall{ID: b.ID, Name: b.Name, Arguments: toolInput(b.Input)})
		}
	}
	res.Message.Content = text.String()
	res.StopReason = anStopReason(raw.StopReason, len(res.Message.ToolCalls) > 0)
	return res, nil
}

func anStopReason(r string, hasTools bool) StopReason {
	switch r {
	case "end_turn", "stop_sequence", "":
		if hasTools {
			return StopToolUse
		}
		return StopEnd
	case "tool_use":
		return StopToolUse
	case "max_tokens", "model_context_window_exceeded":
		return StopMaxTokens
	case "refusal":
		return StopContentFilter
	}
	return StopOther
}

// maxModelPages bounds model-list pagination.
const maxModelPages = 50

// Models implements Provider with GET /v1/models, following pagination.
func (c *Anthropic) Models(ctx context.Context) ([]Model, error) {
	var out []Model
	after := ""
	for page := 0; page < maxModelPages; page++ {
		q := url.Values{"limit": {"1000"}}
		if after != "" {
			q.Set("after_id", after)
		}
		var raw struct {
			Data []struct {
				ID          string `json:"id"`
				DisplayName string `json:"display_name"`
				CreatedAt   string `json:"created_at"`
			} `json:"data"`
			HasMore bool   `json:"has_more"`
			LastID  string `json:"last_id"`
		}
		err := c.t.retry(ctx, "models", func(ctx context.Context) (bool, error) {
			hr, err := c.t.send(ctx, http.MethodGet, "/v1/models?"+q.Encode(), nil, false)
			if err != nil {
				return false, err
			}
			defer drainClose(hr.Body)
			if err := json.NewDecoder(io.LimitReader(hr.Body, 16<<20)).Decode(&raw); err != nil {
				return false, protocolError(c.Name(), "decoding model list: %v", err)
			}
			return false, nil
		})
		if err != nil {
			return nil, err
		}
		for _, m := range raw.Data {
			md := Model{ID: m.ID, Provider: c.Name(), DisplayName: m.DisplayName, OwnedBy: "anthropic"}
			if t, err := time.Parse(time.RFC3339, m.CreatedAt); err == nil {
				md.Created = t.UTC()
			}
			out = append(out, md)
		}
		if !raw.HasMore || raw.LastID == "" || raw.LastID == after {
			break
		}
		after = raw.LastID
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
