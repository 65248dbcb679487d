package llm

import (
	"bytes"
	"fmt"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// The Chat Completions request body is written directly, without
// encoding/json's reflection: it is built for every model call. The bytes
// are exactly what encoding/json (HTML escaping off) gives for the wire
// types in openai.go — FuzzOpenAIEncode checks this against that
// encoding.

// encode builds the Chat Completions request body, appending it to
// dst[:0].
func (c *OpenAI) encode(dst []byte, req *Request, stream bool) ([]byte, error) {
	if req.Model == "" {
		return nil, fmt.Errorf("llm: %s: %w: model is required", c.Name(), ErrBadRequest)
	}
	size := 64 + len(req.Model) + len(req.System)
	for i, m := range req.Messages {
		switch m.Role {
		case RoleSystem, RoleUser, RoleAssistant:
		case RoleTool:
			if m.ToolCallID == "" {
				return nil, fmt.Errorf("llm: %s: %w: message %d: tool result without ToolCallID", c.Name(), ErrBadRequest, i)
			}
		default:
			return nil, fmt.Errorf("llm: %s: %w: message %d: unknown role %q", c.Name(), ErrBadRequest, i, m.Role)
		}
		size += 48 + len(m.Content) + len(m.ToolCallID)
		for _, tc := range m.ToolCalls {
			size += 80 + len(tc.ID) + len(tc.Name) + len(tc.Arguments)
		}
	}
	if req.System == "" && len(req.Messages) == 0 {
		return nil, fmt.Errorf("llm: %s: %w: no messages", c.Name(), ErrBadRequest)
	}
	tools, err := c.t.tools.encoded(req.Tools, c.encodeTools)
	if err != nil {
		return nil, err
	}
	maxTok := req.MaxTokens
	if maxTok <= 0 {
		maxTok = c.t.cfg.MaxTokens
	}
	tail := oaRequestTail{Temperature: req.Temperature, Stop: req.Stop}
	if c.t.cfg.MaxCompletionTokens {
		tail.MaxCompletionTokens = maxTok
	} else {
		tail.MaxTokens = maxTok
	}
	if stream {
		tail.Stream = true
		if !c.t.cfg.NoStreamUsage {
			tail.StreamOptions = &oaStreamOptions{IncludeUsage: true}
		}
	}

	b := dst[:0]
	if need := size + len(tools) + 96; cap(b) < need {
		// With room to spare: a pooled buffer is reused for the same
		// conversation's next, slightly longer request.
		b = make([]byte, 0, need+need/4)
	}
	b = append(b, `{"model":`...)
	b = appendJSONString(b, req.Model)
	b = append(b, `,"messages":[`...)
	if req.System != "" {
		b = append(b, `{"role":"system","content":`...)
		b = appendJSONString(b, req.System)
		b = append(b, '}')
	}
	for i, m := range req.Messages {
		if i > 0 || req.System != "" {
			b = append(b, ',')
		}
		b = appendOAMessage(b, m)
	}
	b = append(b, ']')
	if tools != nil {
		b = append(b, `,"tools":`...)
		b = append(b, tools...)
	}
	return appendOATail(b, tail)
}

// appendOAMessage writes an oaMessage built from m.
func appendOAMessage(b []byte, m Message) []byte {
	b = append(b, `{"role":`...)
	b = appendJSONString(b, string(m.Role))
	b = append(b, `,"content":`...)
	if m.Role == RoleAssistant && m.Content == "" && len(m.ToolCalls) > 0 {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, m.Content)
	}
	if m.Role == RoleAssistant && len(m.ToolCalls) > 0 {
		b = append(b, `,"tool_calls":[`...)
		for i, tc := range m.ToolCalls {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = appendJSONString(b, tc.ID)
			b = append(b, `,"type":"function","function":{"name":`...)
			b = appendJSONString(b, tc.Name)
			b = append(b, `,"arguments":`...)
			if len(bytes.TrimSpace(tc.Arguments)) == 0 {
				b = append(b, `"{}"`...)
			} else {
				b = appendJSONString(b, tc.Arguments)
			}
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	if m.Role == RoleTool && m.ToolCallID != "" {
		b = append(b, `,"tool_call_id":`...)
		b = appendJSONString(b, m.ToolCallID)
	}
	return append(b, '}')
}

// appendOATail writes the tail's members after the body so far and closes
// it. A temperature or stop list (rare) goes through encoding/json.
func appendOATail(b []byte, t oaRequestTail) ([]byte, error) {
	if t.Temperature != nil || t.Stop != nil {
		enc, err := marshalBody(t)
		if err != nil {
			return nil, err
		}
		if len(enc) > 2 {
			b = append(b, ',')
			return append(b, enc[1:]...), nil
		}
		return append(b, '}'), nil
	}
	if t.MaxTokens != 0 {
		b = append(b, `,"max_tokens":`...)
		b = strconv.AppendInt(b, int64(t.MaxTokens), 10)
	}
	if t.MaxCompletionTokens != 0 {
		b = append(b, `,"max_completion_tokens":`...)
		b = strconv.AppendInt(b, int64(t.MaxCompletionTokens), 10)
	}
	if t.Stream {
		b = append(b, `,"stream":true`...)
	}
	if t.StreamOptions != nil {
		b = append(b, `,"stream_options":{"include_usage":`...)
		b = strconv.AppendBool(b, t.StreamOptions.IncludeUsage)
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// appendJSONString writes s as encoding/json does with HTML escaping off:
// '"', '\\' and control characters escaped (\b \f \n \r \t by name),
// invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString[S ~string | ~[]byte](dst []byte, s S) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				// Then eight bytes at a time while none needs a look (most
				// text), and on to the first that does.
				for i++; i+8 <= len(s); i += 8 {
					x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
						uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
					if m := special8(x); m != 0 {
						i += bits.TrailingZeros64(m) >> 3
						break
					}
				}
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(len(s), i+utf8.UTFMax)]))
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// special8 marks the bytes of x (little endian) that a JSON string does
// not carry as is, or that are not ASCII: '"', '\\', control characters
// and bytes above 0x7f. The lowest marked byte is exact (bit tricks: a
// byte below n sets its high bit in x-n·0x01… where it was clear in x;
// borrows only run upward, from a byte that is marked).
func special8(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	below := func(v uint64, n uint64) uint64 { return (v - ones*n) & ^v & highs }
	return (x & highs) | below(x, 0x20) | below(x^(ones*'"'), 1) | below(x^(ones*'\\'), 1)
}
