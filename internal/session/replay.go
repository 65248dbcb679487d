package session

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Status summarises where a session's last run stands.
type Status string

// Statuses.
const (
	StatusEmpty      Status = "empty"       // no conversation: no steps, or the last is a reset
	StatusInProgress Status = "in_progress" // a run started and has not ended (or was interrupted)
	StatusCompleted  Status = "completed"   // the last step is a final answer
	StatusFailed     Status = "failed"      // the last step is an error
)

// State is a session reconstructed from its journal: what a resumed run
// needs to continue without repeating completed work.
type State struct {
	// Messages is the conversation so far: user messages, assistant
	// messages (with their tool calls) and tool results, in journal order.
	Messages []Message `json:"messages"`
	// Completed holds every completed tool call's result by call ID. A
	// resumed run must use these instead of running the call again.
	Completed map[string]ToolResult `json:"completed"`
	// Pending are tool calls that started but did not complete, in start
	// order: they may have had effects, so the loop decides whether to run
	// them again or report them as interrupted.
	Pending []ToolCall `json:"pending"`
	// NotStarted are tool calls the last assistant message asked for that
	// never started; running them is safe.
	NotStarted []ToolCall `json:"not_started"`
	// Usage sums the tokens of every model response.
	Usage Usage `json:"usage"`
	// Status and LastType describe the last step; LastSeq and Updated are
	// its sequence number and time.
	Status   Status    `json:"status"`
	LastType StepType  `json:"last_type,omitempty"`
	LastSeq  uint64    `json:"last_seq"`
	Updated  time.Time `json:"updated"`
	// Final is the content of the last final answer, Err the last error.
	Final string     `json:"final,omitempty"`
	Err   *ErrorData `json:"error,omitempty"`
}

// replay folds steps into a State, checking that each step is consistent
// with those before it.
type replay struct {
	st      State
	started map[string]ToolCall // started, not completed
	order   []string            // start order of started
	asked   map[string]ToolCall // tool calls of the last assistant message
	askedOr []string
	resets  uint64 // reset steps applied: the conversation's epoch (Session.Conversation)
}

func newReplay() *replay {
	return &replay{
		st:      State{Completed: map[string]ToolResult{}, Status: StatusEmpty},
		started: map[string]ToolCall{},
		asked:   map[string]ToolCall{},
	}
}

// check reports whether s may follow the steps applied so far, without
// changing the state. It returns the decoded payload for apply.
func (r *replay) check(s Step, strict bool) (any, error) {
	if !s.Type.Valid() {
		return nil, fmt.Errorf("unknown step type %q", s.Type)
	}
	if s.Seq != r.st.LastSeq+1 {
		return nil, fmt.Errorf("seq %d, want %d", s.Seq, r.st.LastSeq+1)
	}
	if len(s.Data) == 0 || s.Data[0] != '{' {
		return nil, fmt.Errorf("%s: data must be a JSON object", s.Type)
	}
	switch s.Type {
	case TypeUserMessage:
		d, err := payloadOf[UserMessageData](s, strict)
		return d, wrap(s.Type, err)
	case TypeModelRequest:
		d, err := payloadOf[ModelRequestData](s, strict)
		return d, wrap(s.Type, err)
	case TypeModelResponse:
		d, err := payloadOf[ModelResponseData](s, strict)
		if err != nil {
			return nil, wrap(s.Type, err)
		}
		if d.Message.Role != RoleAssistant {
			return nil, fmt.Errorf("model_response: message role %q, want assistant", d.Message.Role)
		}
		seen := map[string]bool{}
		for _, tc := range d.Message.ToolCalls {
			if tc.ID == "" || tc.Name == "" {
				return nil, fmt.Errorf("model_response: tool call without id or name")
			}
			if seen[tc.ID] {
				return nil, fmt.Errorf("model_response: tool call id %q repeated", tc.ID)
			}
			if _, done := r.st.Completed[tc.ID]; done {
				return nil, fmt.Errorf("model_response: tool call id %q already completed", tc.ID)
			}
			seen[tc.ID] = true
		}
		return d, nil
	case TypeToolCallStarted:
		d, err := payloadOf[ToolCall](s, strict)
		if err != nil {
			return nil, wrap(s.Type, err)
		}
		if d.ID == "" || d.Name == "" {
			return nil, fmt.Errorf("tool_call_started: id and name are required")
		}
		if _, ok := r.started[d.ID]; ok {
			return nil, fmt.Errorf("tool_call_started: %q already started", d.ID)
		}
		if _, ok := r.st.Completed[d.ID]; ok {
			return nil, fmt.Errorf("tool_call_started: %q already completed", d.ID)
		}
		return d, nil
	case TypeToolCallCompleted:
		d, err := payloadOf[ToolResult](s, strict)
		if err != nil {
			return nil, wrap(s.Type, err)
		}
		if _, ok := r.started[d.ID]; !ok {
			return nil, fmt.Errorf("tool_call_completed: %q was not started (or already completed)", d.ID)
		}
		return d, nil
	case TypeFinalAnswer:
		d, err := payloadOf[FinalAnswerData](s, strict)
		return d, wrap(s.Type, err)
	case TypeReset:
		d, err := payloadOf[ResetData](s, strict)
		return d, wrap(s.Type, err)
	default: // TypeError
		d, err := payloadOf[ErrorData](s, strict)
		return d, wrap(s.Type, err)
	}
}

func wrap(t StepType, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", t, err)
}

// apply folds a checked step in.
func (r *replay) apply(s Step, payload any) {
	st := &r.st
	switch d := payload.(type) {
	case UserMessageData:
		st.Messages = append(st.Messages, Message{Role: RoleUser, Content: d.Content})
		r.asked, r.askedOr = map[string]ToolCall{}, nil
	case ModelResponseData:
		st.Messages = append(st.Messages, d.Message)
		st.Usage.InputTokens += d.Usage.InputTokens
		st.Usage.OutputTokens += d.Usage.OutputTokens
		r.asked, r.askedOr = map[string]ToolCall{}, nil
		for _, tc := range d.Message.ToolCalls {
			r.asked[tc.ID] = tc
			r.askedOr = append(r.askedOr, tc.ID)
		}
	case ToolCall:
		r.started[d.ID] = d
		r.order = append(r.order, d.ID)
	case ToolResult:
		delete(r.started, d.ID)
		r.order = slices.DeleteFunc(r.order, func(id string) bool { return id == d.ID })
		st.Completed[d.ID] = d
		st.Messages = append(st.Messages, Message{Role: RoleTool, Content: d.Content, ToolCallID: d.ID})
	case FinalAnswerData:
		st.Final = d.Content
		st.Err = nil
		if n := len(st.Messages); n == 0 || st.Messages[n-1].Role != RoleAssistant || st.Messages[n-1].Content != d.Content || len(st.Messages[n-1].ToolCalls) > 0 {
			st.Messages = append(st.Messages, Message{Role: RoleAssistant, Content: d.Content})
		}
	case ErrorData:
		e := d
		st.Err = &e
	case ResetData:
		// A new conversation: tool call IDs may repeat from here on, and
		// nothing before is resumed. Usage keeps counting.
		st.Messages, st.Completed, st.Final, st.Err = nil, map[string]ToolResult{}, "", nil
		r.started, r.order = map[string]ToolCall{}, nil
		r.asked, r.askedOr = map[string]ToolCall{}, nil
		r.resets++
	}
	st.LastSeq, st.LastType, st.Updated = s.Seq, s.Type, s.Time
	switch s.Type {
	case TypeFinalAnswer:
		st.Status = StatusCompleted
	case TypeError:
		st.Status = StatusFailed
	case TypeReset:
		st.Status = StatusEmpty
	default:
		st.Status = StatusInProgress
	}
}

// state returns a deep-enough copy of the current state.
func (r *replay) state() State {
	st := r.st
	st.Messages = slices.Clone(st.Messages)
	st.Completed = maps.Clone(st.Completed)
	st.Pending = nil
	for _, id := range r.order {
		st.Pending = append(st.Pending, r.started[id])
	}
	st.NotStarted = nil
	for _, id := range r.askedOr {
		_, done := st.Completed[id]
		_, running := r.started[id]
		if !done && !running {
			st.NotStarted = append(st.NotStarted, r.asked[id])
		}
	}
	if st.Err != nil {
		e := *st.Err
		st.Err = &e
	}
	return st
}
