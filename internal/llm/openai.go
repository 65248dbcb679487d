package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/weftos/weftos/internal/llm/sse"
)

// OpenAI is a client for the OpenAI Chat Completions protocol, spoken by
// OpenAI and by OpenAI-compatible services and local servers.
type OpenAI struct {
	t transport
}

var _ Provider = (*OpenAI)(nil)

// NewOpenAI returns a Chat Completions client for cfg (Kind may be empty).
func NewOpenAI(cfg Config) (*OpenAI, error) {
	r, err := resolveKind(cfg, KindOpenAI, "NewOpenAI")
	if err != nil {
		return nil, err
	}
	c := &OpenAI{t: transport{cfg: r}}
	c.t.auth = func(h http.Header) {
		if r.key != "" {
			h.Set("Authorization", "Bearer "+string(r.key))
		}
	}
	return c, nil
}

// Name returns the registry name.
func (c *OpenAI) Name() string { return c.t.cfg.Name }

// CloseIdleConnections releases pooled connections.
func (c *OpenAI) CloseIdleConnections() { c.t.cfg.HTTPClient.CloseIdleConnections() }

// Wire types of the Chat Completions API.
type (
	// A request body is oaRequest's members, then "tools" (encoded once
	// per tool list, see toolCache), then oaRequestTail's.
	oaRequest struct {
		Model    string      `json:"model"`
		Messages []oaMessage `json:"messages"`
	}
	oaRequestTail struct {
		MaxTokens           int              `json:"max_tokens,omitempty"`
		MaxCompletionTokens int              `json:"max_completion_tokens,omitempty"`
		Temperature         *float64         `json:"temperature,omitempty"`
		Stop                []string         `json:"stop,omitempty"`
		Stream              bool             `json:"stream,omitempty"`
		StreamOptions       *oaStreamOptions `json:"stream_options,omitempty"`
	}
	oaStreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	}
	oaMessage struct {
		Role       string       `json:"role"`
		Content    *string      `json:"content"`
		ToolCalls  []oaToolCall `json:"tool_calls,omitempty"`
		ToolCallID string       `json:"tool_call_id,omitempty"`
	}
	oaToolCall struct {
		ID       string     `json:"id"`
		Type     string     `json:"type"`
		Function oaFunction `json:"function"`
	}
	oaFunction struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	}
	oaTool struct {
		Type     string         `json:"type"`
		Function oaToolFunction `json:"function"`
	}
	oaToolFunction struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters"`
	}
	oaUsage struct {
		PromptTokens        int             `json:"prompt_tokens"`
		CompletionTokens    int             `json:"completion_tokens"`
		PromptTokensDetails *oaTokenDetails `json:"prompt_tokens_details"`
	}
	oaTokenDetails struct {
		CachedTokens int `json:"cached_tokens"`
	}
	// oaResponse is a non-streamed chat completion (decoded by
	// decodeFast when it can, see oadecode.go).
	oaResponse struct {
		ID      string     `json:"id"`
		Model   string     `json:"model"`
		Choices []oaChoice `json:"choices"`
		Usage   *oaUsage   `json:"usage"`
	}
	oaChoice struct {
		Message      oaReplyMessage `json:"message"`
		FinishReason string         `json:"finish_reason"`
	}
	oaReplyMessage struct {
		Content   *string      `json:"content"`
		Refusal   *string      `json:"refusal"`
		ToolCalls []oaToolCall `json:"tool_calls"`
	}
)

var emptyObjectSchema = json.RawMessage(`{"type":"object","properties":{}}`)

// encodeTools encodes the request's "tools" list.
func (c *OpenAI) encodeTools(specs []ToolSpec) ([]byte, error) {
	tools := make([]oaTool, 0, len(specs))
	for _, t := range specs {
		params := t.Parameters
		if len(bytes.TrimSpace(params)) == 0 {
			params = emptyObjectSchema
		} else if !json.Valid(params) {
			return nil, fmt.Errorf("llm: %s: %w: tool %q: parameters are not valid JSON", c.Name(), ErrBadRequest, t.Name)
		}
		tools = append(tools, oaTool{Type: "function",
			Function: oaToolFunction{Name: t.Name, Description: t.Description, Parameters: params}})
	}
	return marshalBody(tools)
}

func ptr[T any](v T) *T { return &v }

// Chat implements Provider.
func (c *OpenAI) Chat(ctx context.Context, req *Request, onDelta func(Delta)) (*Response, error) {
	if req == nil {
		return nil, fmt.Errorf("llm: %s: %w: nil request", c.Name(), ErrBadRequest)
	}
	body := newEncodedBody()
	b, err := c.encode(body.b, req, onDelta != nil)
	if err != nil {
		body.release()
		return nil, err
	}
	body.b = b
	return c.t.chat(ctx, "/chat/completions", body, onDelta, c.decodeResponse, func() streamHandler {
		st := newOAStream(c.Name())
		return streamHandler{
			handle: func(ev sse.Event, emit func(Delta)) (bool, error) { return st.handle(ev.Data, emit) },
			finish: st.finish,
		}
	})
}

func (c *OpenAI) decodeResponse(r io.Reader) (*Response, error) {
	var raw oaResponse
	if err := decodeJSONBody(r, &raw); err != nil {
		return nil, protocolError(c.Name(), "decoding chat completion: %v", err)
	}
	if len(raw.Choices) == 0 {
		return nil, protocolError(c.Name(), "chat completion has no choices")
	}
	ch := raw.Choices[0]
	res := &Response{Provider: c.Name(), Model: raw.Model, ID: raw.ID,
		Message: Message{Role: RoleAssistant}, RawStopReason: ch.FinishReason}
	if ch.Message.Content != nil {
		res.Message.Content = *ch.Message.Content
	} else if ch.Message.Refusal != nil {
		res.Message.Content = *ch.Message.Refusal
	}
	for _, tc := range ch.Message.ToolCalls {
		res.Message.ToolCalls = append(res.Message.ToolCalls,
			ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: normArgs(tc.Function.Arguments)})
	}
	res.StopReason = oaStopReason(ch.FinishReason, len(res.Message.ToolCalls) > 0)
	res.Usage = raw.Usage.neutral()
	return res, nil
}

func (u *oaUsage) neutral() Usage {
	if u == nil {
		return Usage{}
	}
	out := Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
	if d := u.PromptTokensDetails; d != nil && d.CachedTokens > 0 && d.CachedTokens <= u.PromptTokens {
		out.CacheReadTokens = d.CachedTokens
		out.InputTokens -= d.CachedTokens
	}
	return out
}

// normArgs turns a streamed or returned arguments string into the
// ToolCall.Arguments form: "{}" when empty, otherwise verbatim.
func normArgs(s string) json.RawMessage {
	if len(bytes.TrimSpace([]byte(s))) == 0 {
		return json.RawMessage("{}")
	}
	return json.RawMessage(s)
}

func oaStopReason(r string, hasTools bool) StopReason {
	switch r {
	case "stop", "eos", "end_turn":
		if hasTools {
			return StopToolUse
		}
		return StopEnd
	case "length", "max_tokens":
		return StopMaxTokens
	case "tool_calls", "function_call", "tool_use":
		return StopToolUse
	case "content_filter":
		return StopContentFilter
	case "":
		if hasTools {
			return StopToolUse
		}
		return StopEnd
	}
	return StopOther
}

// Models implements Provider with GET {base}/models.
func (c *OpenAI) Models(ctx context.Context) ([]Model, error) {
	var out []Model
	err := c.t.retry(ctx, "models", func(ctx context.Context) (bool, error) {
		hr, err := c.t.send(ctx, http.MethodGet, "/models", nil, false)
		if err != nil {
			return false, err
		}
		defer drainClose(hr.Body)
		var raw struct {
			Data []struct {
				ID      string `json:"id"`
				Created int64  `json:"created"`
				OwnedBy string `json:"owned_by"`
			} `json:"data"`
		}
		if err := json.NewDecoder(io.LimitReader(hr.Body, 16<<20)).Decode(&raw); err != nil {
			return false, protocolError(c.Name(), "decoding model list: %v", err)
		}
		out = out[:0]
		for _, m := range raw.Data {
			md := Model{ID: m.ID, Provider: c.Name(), OwnedBy: m.OwnedBy}
			if m.Created > 0 {
				md.Created = time.Unix(m.Created, 0).UTC()
			}
			out = append(out, md)
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
