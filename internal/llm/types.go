package llm

import (
	"context"
	"encoding/json"
	"time"
)

// Role is the author of a Message.
type Role string

// Message roles. RoleTool carries the result of one tool call and must set
// Message.ToolCallID.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Message is one entry of a conversation in vendor-neutral form.
type Message struct {
	Role Role `json:"role"`
	// Content is the text of the message (the tool's output for RoleTool).
	Content string `json:"content,omitempty"`
	// ToolCalls are the calls an assistant message asked for.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID links a RoleTool message to the ToolCall it answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
	// IsError marks a RoleTool result as a failed call. Anthropic receives
	// it as is_error; OpenAI has no such flag, so callers should also say so
	// in Content.
	IsError bool `json:"is_error,omitempty"`
}

// ToolSpec describes a tool the model may call.
type ToolSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Parameters is the JSON Schema of the arguments object. Empty means
	// an object with no properties.
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

// ToolCall is one call the model asked for.
type ToolCall struct {
	// ID is the vendor's call id; the result must echo it in ToolCallID.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Arguments are the model's arguments verbatim: normally a JSON object,
	// "{}" when the model sent none. A model can emit invalid JSON, so the
	// caller must validate before use.
	Arguments json.RawMessage `json:"arguments"`
}

// Request is one chat completion request.
type Request struct {
	// Model is the provider's own model name, without the "provider/"
	// prefix a Registry resolves.
	Model string
	// System is the system prompt. Messages with RoleSystem are appended
	// to it for vendors that take the system prompt out of band.
	System string
	// Tools come before Messages: the llm.call prompt hash is SHAKE-256
	// over this struct's JSON encoding, and with the tools (several KiB of
	// schemas) ahead of the conversation, a hasher resumes after the
	// messages it saw last instead of absorbing the tools again per call.
	Tools    []ToolSpec
	Messages []Message
	// MaxTokens caps the output; 0 means the provider's configured default
	// (Anthropic requires a value, so that default is never 0 there).
	MaxTokens   int
	Temperature *float64
	// Stop sequences end generation when produced.
	Stop []string
}

// StopReason says why the model stopped, normalised across vendors.
type StopReason string

// Normalised stop reasons. Response.RawStopReason keeps the vendor's word.
const (
	StopEnd           StopReason = "end"            // natural end or a stop sequence
	StopToolUse       StopReason = "tool_use"       // the model wants tool results
	StopMaxTokens     StopReason = "max_tokens"     // output cap reached
	StopContentFilter StopReason = "content_filter" // vendor filter or refusal
	StopOther         StopReason = "other"          // anything else; see RawStopReason
)

// Usage counts tokens of one request.
type Usage struct {
	// InputTokens counts uncached prompt tokens: Anthropic's input_tokens,
	// or OpenAI's prompt_tokens minus prompt_tokens_details.cached_tokens.
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
	// CacheReadTokens are prompt tokens served from the vendor's prompt
	// cache (Anthropic cache_read_input_tokens, OpenAI cached_tokens);
	// CacheWriteTokens are Anthropic's cache_creation_input_tokens.
	CacheReadTokens  int `json:"cache_read_tokens,omitempty"`
	CacheWriteTokens int `json:"cache_write_tokens,omitempty"`
}

// Total returns every token the request consumed, for budget accounting.
func (u Usage) Total() int {
	return u.InputTokens + u.OutputTokens + u.CacheReadTokens + u.CacheWriteTokens
}

// Add returns the element-wise sum of u and v.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		InputTokens:      u.InputTokens + v.InputTokens,
		OutputTokens:     u.OutputTokens + v.OutputTokens,
		CacheReadTokens:  u.CacheReadTokens + v.CacheReadTokens,
		CacheWriteTokens: u.CacheWriteTokens + v.CacheWriteTokens,
	}
}

// Response is a completed chat turn.
type Response struct {
	// Provider is the registry name of the provider that answered (for a
	// Failover, the route that succeeded) and Model the model it reported.
	Provider string
	Model    string
	ID       string
	// Message is the assistant message: concatenated text and tool calls
	// in the order the model produced them.
	Message       Message
	StopReason    StopReason
	RawStopReason string
	Usage         Usage
}

// DeltaKind says what a Delta carries.
type DeltaKind int

// Delta kinds.
const (
	// DeltaText carries a fragment of assistant text in Text.
	DeltaText DeltaKind = iota + 1
	// DeltaToolCall announces a tool call: Index, ToolCallID, ToolName.
	DeltaToolCall
	// DeltaToolArgs carries a fragment of a tool call's JSON arguments.
	DeltaToolArgs
)

// Delta is one streamed fragment, delivered to the onDelta callback of
// Provider.Chat as soon as it is decoded. Deltas are informational: the
// Response returned by Chat is complete on its own.
type Delta struct {
	Kind DeltaKind
	Text string
	// Index is the tool call's position in Response.Message.ToolCalls.
	Index      int
	ToolCallID string
	ToolName   string
}

// Model is one entry of a provider's model list.
type Model struct {
	// ID is the provider's model name; "Provider/ID" resolves to it.
	ID          string
	Provider    string
	DisplayName string
	OwnedBy     string
	Created     time.Time
}

// Provider is a chat model endpoint. Implementations are safe for
// concurrent use.
type Provider interface {
	// Name is the registry name ("openai", "anthropic", "groq", …).
	Name() string
	// Chat sends req and returns the assistant's reply. When onDelta is
	// not nil the response is streamed and onDelta is called, on the
	// caller's goroutine, for each fragment as it arrives; it must not
	// block for long. Retries never repeat a request whose output has
	// already been delivered to onDelta.
	Chat(ctx context.Context, req *Request, onDelta func(Delta)) (*Response, error)
	// Models lists the models the provider serves.
	Models(ctx context.Context) ([]Model, error)
}

// Clock is the time source used for retry backoff and Retry-After dates.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, returning ctx.Err() then.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SystemClock is the wall clock.
var SystemClock Clock = realClock{}
