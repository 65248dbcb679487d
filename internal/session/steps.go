package session

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// StepType names what a step records.
type StepType string

// The step types. A run is a user message, then model requests and
// responses, tool calls started and completed, and a final answer or an
// error.
const (
	TypeUserMessage       StepType = "user_message"
	TypeModelRequest      StepType = "model_request"
	TypeModelResponse     StepType = "model_response"
	TypeToolCallStarted   StepType = "tool_call_started"
	TypeToolCallCompleted StepType = "tool_call_completed"
	TypeFinalAnswer       StepType = "final_answer"
	TypeError             StepType = "error"
	// TypeReset clears the conversation: what follows starts afresh,
	// while the steps before stay in the journal (nothing is deleted).
	TypeReset StepType = "reset"
)

// Valid reports whether t is one of the step types.
func (t StepType) Valid() bool {
	switch t {
	case TypeUserMessage, TypeModelRequest, TypeModelResponse, TypeToolCallStarted,
		TypeToolCallCompleted, TypeFinalAnswer, TypeError, TypeReset:
		return true
	}
	return false
}

// Step is one record of the journal. Seq and Time are assigned by Append.
type Step struct {
	Seq  uint64          `json:"seq"`
	Time time.Time       `json:"time"`
	Type StepType        `json:"type"`
	Data json.RawMessage `json:"data"`

	// payload is the value a constructor encoded as Data, when decoding
	// Data gives it back exactly; pdata and plen are Data as the
	// constructor made it, so a Data replaced since is decoded instead.
	payload any
	pdata   *byte
	plen    int
}

// trustedPayload returns the payload the step's constructor encoded, if
// Data is still what it encoded.
func (s Step) trustedPayload() (any, bool) {
	if s.payload == nil || len(s.Data) == 0 || &s.Data[0] != s.pdata || len(s.Data) != s.plen {
		return nil, false
	}
	return s.payload, true
}

// payloadOf returns the step's payload as a T: the constructor's when
// trusted, else decoded from Data.
func payloadOf[T any](s Step, strict bool) (T, error) {
	if p, ok := s.trustedPayload(); ok {
		if d, ok := p.(T); ok {
			return d, nil
		}
	}
	var d T
	err := decodeData(s.Data, &d, strict)
	return d, err
}

// Roles of a Message.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Message is one conversation message in a provider-neutral form; the agent
// loop maps it to and from its LLM layer's types.
type Message struct {
	Role       string     `json:"role"`
	Content    string     `json:"content,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"` // role "tool": the call answered
}

// ToolCall is a call the model asked for.
type ToolCall struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments,omitempty"` // a JSON value, normally an object
}

// ToolResult is the outcome of a tool call.
type ToolResult struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Content string `json:"content"`
	IsError bool   `json:"is_error,omitempty"`
}

// Usage counts tokens.
type Usage struct {
	InputTokens  uint64 `json:"input_tokens"`
	OutputTokens uint64 `json:"output_tokens"`
}

// The Data payload of each step type.
type (
	// UserMessageData is the data of a user_message step.
	UserMessageData struct {
		Content string `json:"content"`
	}
	// ModelRequestData is the data of a model_request step.
	ModelRequestData struct {
		Model    string `json:"model"`
		Messages int    `json:"messages"` // messages sent
	}
	// ModelResponseData is the data of a model_response step: the assistant
	// message, with any tool calls, and the tokens it cost.
	ModelResponseData struct {
		Model   string  `json:"model,omitempty"`
		Message Message `json:"message"`
		Usage   Usage   `json:"usage"`
	}
	// FinalAnswerData is the data of a final_answer step.
	FinalAnswerData struct {
		Content string `json:"content"`
	}
	// ErrorData is the data of an error step.
	ErrorData struct {
		Code    string `json:"code,omitempty"`
		Message string `json:"message"`
	}
	// ResetData is the data of a reset step.
	ResetData struct {
		By string `json:"by,omitempty"` // who cleared the conversation
	}
)

func mustStep(t StepType, v any) Step {
	b, err := json.Marshal(v)
	if err != nil {
		// The payload types hold only strings, numbers and json.RawMessage;
		// a RawMessage that is not valid JSON is the only way here.
		return Step{Type: t, Data: json.RawMessage(fmt.Sprintf(`{"invalid":%q}`, err.Error()))}
	}
	st := Step{Type: t, Data: b}
	if roundTrips(v) && len(b) > 0 {
		// Append can use v instead of decoding Data again.
		st.payload, st.pdata, st.plen = v, &b[0], len(b)
	}
	return st
}

// roundTrips reports whether decoding v's JSON encoding gives v back
// exactly: its strings are valid UTF-8 (encoding/json replaces invalid
// bytes) and it holds no raw JSON (which encoding/json rewrites).
func roundTrips(v any) bool {
	ok := utf8.ValidString
	switch d := v.(type) {
	case UserMessageData:
		return ok(d.Content)
	case FinalAnswerData:
		return ok(d.Content)
	case ModelRequestData:
		return ok(d.Model)
	case ErrorData:
		return ok(d.Code) && ok(d.Message)
	case ToolResult:
		return ok(d.ID) && ok(d.Name) && ok(d.Content)
	case ModelResponseData:
		m := d.Message
		return m.ToolCalls == nil && ok(d.Model) && ok(m.Role) && ok(m.Content) && ok(m.ToolCallID)
	}
	return false
}

// UserMessage returns a user_message step.
func UserMessage(content string) Step {
	return mustStep(TypeUserMessage, UserMessageData{Content: content})
}

// ModelRequest returns a model_request step.
func ModelRequest(model string, messages int) Step {
	return mustStep(TypeModelRequest, ModelRequestData{Model: model, Messages: messages})
}

// ModelResponse returns a model_response step; msg.Role is set to assistant.
func ModelResponse(model string, msg Message, usage Usage) Step {
	msg.Role = RoleAssistant
	if len(msg.ToolCalls) == 0 {
		msg.ToolCalls = nil // encoded the same; decoded as nil
	}
	return mustStep(TypeModelResponse, ModelResponseData{Model: model, Message: msg, Usage: usage})
}

// ToolCallStarted returns a tool_call_started step.
func ToolCallStarted(tc ToolCall) Step { return mustStep(TypeToolCallStarted, tc) }

// ToolCallCompleted returns a tool_call_completed step.
func ToolCallCompleted(r ToolResult) Step { return mustStep(TypeToolCallCompleted, r) }

// FinalAnswer returns a final_answer step.
func FinalAnswer(content string) Step {
	return mustStep(TypeFinalAnswer, FinalAnswerData{Content: content})
}

// Error returns an error step.
func Error(code, message string) Step {
	return mustStep(TypeError, ErrorData{Code: code, Message: message})
}

// Reset returns a reset step.
func Reset(by string) Step { return mustStep(TypeReset, ResetData{By: by}) }

// decodeData decodes a step's data into v; strict refuses unknown fields
// (Append is strict, reading is not, so newer journals stay readable).
func decodeData(data json.RawMessage, v any, strict bool) error {
	if !strict {
		return json.Unmarshal(data, v)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}
