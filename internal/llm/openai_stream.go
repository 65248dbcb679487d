package llm

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// oaChunk is one chat.completion.chunk.
type oaChunk struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Content   *string           `json:"content"`
			Refusal   *string           `json:"refusal"`
			ToolCalls []oaToolCallDelta `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *oaUsage        `json:"usage"`
	Error json.RawMessage `json:"error"`
}

type oaToolCallDelta struct {
	Index    *int   `json:"index"`
	ID       string `json:"id"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// oaStream accumulates a streamed chat completion.
type oaStream struct {
	provider string
	id       string
	model    string
	text     strings.Builder
	calls    []*oaCallAcc
	byIndex  map[int]*oaCallAcc
	reason   string
	sawStop  bool
	usage    *oaUsage
}

type oaCallAcc struct {
	id, name string
	args     strings.Builder
}

func newOAStream(provider string) *oaStream {
	return &oaStream{provider: provider, byIndex: map[int]*oaCallAcc{}}
}

var doneMarker = []byte("[DONE]")

// maxToolCalls bounds the tool calls accepted from one response.
const maxToolCalls = 1024

// handle consumes one SSE data payload. It reports done at "[DONE]".
func (s *oaStream) handle(data []byte, emit func(Delta)) (bool, error) {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, doneMarker) {
		return true, nil
	}
	if len(data) == 0 {
		return false, nil
	}
	var ch oaChunk
	if err := json.Unmarshal(data, &ch); err != nil {
		return false, protocolError(s.provider, "decoding stream chunk: %v", err)
	}
	if len(ch.Error) > 0 && !bytes.Equal(ch.Error, []byte("null")) {
		e := &APIError{Provider: s.provider}
		fillErrorBody(e, append(append([]byte(`{"error":`), ch.Error...), '}'))
		if e.Message == "" {
			e.Message = "error in stream"
		}
		return false, e
	}
	if s.id == "" {
		s.id = ch.ID
	}
	if s.model == "" {
		s.model = ch.Model
	}
	if ch.Usage != nil {
		s.usage = ch.Usage
	}
	for i := range ch.Choices {
		c := &ch.Choices[i]
		if c.Index != 0 {
			continue // only n=1 is requested
		}
		if d := c.Delta.Content; d != nil && *d != "" {
			s.text.WriteString(*d)
			emit(Delta{Kind: DeltaText, Text: *d})
		} else if d := c.Delta.Refusal; d != nil && *d != "" {
			s.text.WriteString(*d)
			emit(Delta{Kind: DeltaText, Text: *d})
		}
		for j := range c.Delta.ToolCalls {
			if err := s.toolDelta(&c.Delta.ToolCalls[j], emit); err != nil {
				return false, err
			}
		}
		if c.FinishReason != nil && *c.FinishReason != "" {
			s.reason = *c.FinishReason
			s.sawStop = true
		}
	}
	return false, nil
}

// toolDelta merges one tool_calls[] fragment. Fragments are keyed by
// index; servers that omit the index start a new call whenever a new id
// appears and otherwise continue the last one.
func (s *oaStream) toolDelta(td *oaToolCallDelta, emit func(Delta)) error {
	var acc *oaCallAcc
	if td.Index != nil {
		acc = s.byIndex[*td.Index]
		if acc == nil {
			if *td.Index < 0 {
				return protocolError(s.provider, "negative tool call index %d", *td.Index)
			}
			acc = s.newCall()
			if acc == nil {
				return protocolError(s.provider, "more than %d tool calls", maxToolCalls)
			}
			s.byIndex[*td.Index] = acc
		}
	} else {
		if n := len(s.calls); n > 0 && (td.ID == "" || td.ID == s.calls[n-1].id) {
			acc = s.calls[n-1]
		} else {
			acc = s.newCall()
			if acc == nil {
				return protocolError(s.provider, "more than %d tool calls", maxToolCalls)
			}
		}
	}
	idx := s.position(acc)
	announce := false
	if td.ID != "" && acc.id == "" {
		acc.id = td.ID
		announce = acc.name != ""
	}
	if td.Function.Name != "" && acc.name == "" {
		acc.name = td.Function.Name
		announce = true
	}
	if announce {
		emit(Delta{Kind: DeltaToolCall, Index: idx, ToolCallID: acc.id, ToolName: acc.name})
	}
	if a := td.Function.Arguments; a != "" {
		acc.args.WriteString(a)
		emit(Delta{Kind: DeltaToolArgs, Index: idx, Text: a, ToolCallID: acc.id})
	}
	return nil
}

func (s *oaStream) newCall() *oaCallAcc {
	if len(s.calls) >= maxToolCalls {
		return nil
	}
	acc := &oaCallAcc{}
	s.calls = append(s.calls, acc)
	return acc
}

func (s *oaStream) position(acc *oaCallAcc) int {
	for i := len(s.calls) - 1; i >= 0; i-- {
		if s.calls[i] == acc {
			return i
		}
	}
	return -1
}

// finish builds the response. A stream that ended without "[DONE]" is
// accepted if a finish_reason arrived (some local servers omit the
// marker); otherwise it was cut short.
func (s *oaStream) finish(complete bool) (*Response, error) {
	if !complete && !s.sawStop {
		return nil, errStreamCut(s.provider)
	}
	res := &Response{Provider: s.provider, Model: s.model, ID: s.id,
		Message: Message{Role: RoleAssistant, Content: s.text.String()}, RawStopReason: s.reason}
	for i, acc := range s.calls {
		if acc.name == "" {
			return nil, protocolError(s.provider, "tool call %d has no function name", i)
		}
		id := acc.id
		if id == "" {
			id = syntheticCallID(i)
		}
		res.Message.ToolCalls = append(res.Message.ToolCalls,
			ToolCall{ID: id, Name: acc.name, Arguments: normArgs(acc.args.String())})
	}
	res.StopReason = oaStopReason(s.reason, len(res.Message.ToolCalls) > 0)
	res.Usage = s.usage.neutral()
	return res, nil
}

// syntheticCallID names a call whose server sent no id (some local
// servers), so tool results can still be matched to it.
func syntheticCallID(i int) string {
	return "call_weft_" + strconv.Itoa(i)
}
