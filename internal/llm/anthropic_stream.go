package llm

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
)

// anEvent is one Messages streaming event (the SSE data payload).
type anEvent struct {
	Type         string       `json:"type"`
	Message      *anResponse  `json:"message"`
	Index        *int         `json:"index"`
	ContentBlock *anRespBlock `json:"content_block"`
	Delta        *struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		PartialJSON string `json:"partial_json"`
		StopReason  string `json:"stop_reason"`
	} `json:"delta"`
	Usage *anUsage `json:"usage"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// anStream accumulates a streamed Messages response.
type anStream struct {
	provider string
	id       string
	model    string
	blocks   map[int]*anBlockAcc
	order    int // number of tool calls announced so far
	reason   string
	sawStop  bool
	usage    anUsage
}

type anBlockAcc struct {
	typ      string
	text     strings.Builder
	id, name string
	input    strings.Builder
	start    json.RawMessage
	call     int // position among tool calls
}

func newANStream(provider string) *anStream {
	return &anStream{provider: provider, blocks: map[int]*anBlockAcc{}}
}

// maxBlocks bounds the content blocks accepted from one response.
const maxBlocks = 4096

// handle consumes one event; it reports done at message_stop.
func (s *anStream) handle(evType string, data []byte, emit func(Delta)) (bool, error) {
	var ev anEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return false, protocolError(s.provider, "decoding %q event: %v", evType, err)
	}
	typ := ev.Type
	if typ == "" {
		typ = evType
	}
	switch typ {
	case "message_start":
		if ev.Message == nil {
			return false, protocolError(s.provider, "message_start without message")
		}
		s.id, s.model = ev.Message.ID, ev.Message.Model
		if u := ev.Message.Usage; u != nil {
			s.usage = *u
		}
	case "content_block_start":
		if ev.Index == nil || ev.ContentBlock == nil || *ev.Index < 0 {
			return false, protocolError(s.provider, "content_block_start without index or block")
		}
		if _, dup := s.blocks[*ev.Index]; dup {
			return false, protocolError(s.provider, "content block %d started twice", *ev.Index)
		}
		if len(s.blocks) >= maxBlocks {
			return false, protocolError(s.provider, "more than %d content blocks", maxBlocks)
		}
		b := &anBlockAcc{typ: ev.ContentBlock.Type}
		s.blocks[*ev.Index] = b
		switch b.typ {
		case "text":
			if t := ev.ContentBlock.Text; t != "" {
				b.text.WriteString(t)
				emit(Delta{Kind: DeltaText, Text: t})
			}
		case "tool_use":
			b.id, b.name, b.start = ev.ContentBlock.ID, ev.ContentBlock.Name, ev.ContentBlock.Input
			b.call = s.order
			s.order++
			emit(Delta{Kind: DeltaToolCall, Index: b.call, ToolCallID: b.id, ToolName: b.name})
		}
	case "content_block_delta":
		if ev.Index == nil || ev.Delta == nil {
			return false, protocolError(s.provider, "content_block_delta without index or delta")
		}
		b := s.blocks[*ev.Index]
		if b == nil {
			return false, protocolError(s.provider, "delta for unknown content block %d", *ev.Index)
		}
		switch ev.Delta.Type {
		case "text_delta":
			if b.typ != "text" {
				return false, protocolError(s.provider, "text_delta for %s block %d", b.typ, *ev.Index)
			}
			if ev.Delta.Text != "" {
				b.text.WriteString(ev.Delta.Text)
				emit(Delta{Kind: DeltaText, Text: ev.Delta.Text})
			}
		case "input_json_delta":
			if b.typ != "tool_use" {
				return false, protocolError(s.provider, "input_json_delta for %s block %d", b.typ, *ev.Index)
			}
			if ev.Delta.PartialJSON != "" {
				b.input.WriteString(ev.Delta.PartialJSON)
				emit(Delta{Kind: DeltaToolArgs, Index: b.call, ToolCallID: b.id, Text: ev.Delta.PartialJSON})
			}
		}
		// thinking_delta, signature_delta, citations_delta: not surfaced.
	case "content_block_stop":
	case "message_delta":
		if ev.Delta != nil && ev.Delta.StopReason != "" {
			s.reason = ev.Delta.StopReason
			s.sawStop = true
		}
		if u := ev.Usage; u != nil {
			// message_delta usage is cumulative; input counts appear here
			// only in newer API versions, so keep message_start's otherwise.
			s.usage.OutputTokens = u.OutputTokens
			if u.InputTokens > 0 {
				s.usage.InputTokens = u.InputTokens
			}
			if u.CacheReadInputTokens > 0 {
				s.usage.CacheReadInputTokens = u.CacheReadInputTokens
			}
			if u.CacheCreationInputTokens > 0 {
				s.usage.CacheCreationInputTokens = u.CacheCreationInputTokens
			}
		}
	case "message_stop":
		return true, nil
	case "ping":
	case "error":
		e := &APIError{Provider: s.provider, Type: "error", Message: "error event in stream"}
		if ev.Error != nil {
			e.Type, e.Message = ev.Error.Type, ev.Error.Message
		}
		return false, e
	}
	// Unknown event types are ignored, as Anthropic's versioning policy asks.
	return false, nil
}

func (s *anStream) finish(complete bool) (*Response, error) {
	if !complete && !s.sawStop {
		return nil, errStreamCut(s.provider)
	}
	idx := make([]int, 0, len(s.blocks))
	for i := range s.blocks {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	res := &Response{Provider: s.provider, Model: s.model, ID: s.id,
		Message: Message{Role: RoleAssistant}, RawStopReason: s.reason, Usage: s.usage.neutral()}
	var text strings.Builder
	if s.order > 0 {
		res.Message.ToolCalls = make([]ToolCall, s.order)
	}
	for _, i := range idx {
		b := s.blocks[i]
		switch b.typ {
		case "text":
			text.WriteString(b.text.String())
		case "tool_use":
			if b.name == "" {
				return nil, protocolError(s.provider, "tool_use block %d has no name", i)
			}
			args := json.RawMessage(b.input.String())
			if len(bytes.TrimSpace(args)) == 0 {
				args = b.start
			}
			if len(bytes.TrimSpace(args)) == 0 {
				args = json.RawMessage("{}")
			}
			// Position by announcement order, matching Delta.Index.
			res.Message.ToolCalls[b.call] = ToolCall{ID: b.id, Name: b.name, Arguments: args}
		}
	}
	res.Message.Content = text.String()
	res.StopReason = anStopReason(s.reason, len(res.Message.ToolCalls) > 0)
	return res, nil
}
