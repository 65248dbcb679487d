package llm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"
)

// encodeReference is the Chat Completions body as encoding/json writes
// the wire types: the oracle of the hand-written encoder.
func (c *OpenAI) encodeReference(req *Request, stream bool) ([]byte, error) {
	if req.Model == "" {
		return nil, fmt.Errorf("llm: %s: %w: model is required", c.Name(), ErrBadRequest)
	}
	out := oaRequest{Model: req.Model}
	tail := oaRequestTail{Temperature: req.Temperature, Stop: req.Stop}
	if req.System != "" {
		out.Messages = append(out.Messages, oaMessage{Role: "system", Content: ptr(req.System)})
	}
	for i, m := range req.Messages {
		switch m.Role {
		case RoleSystem, RoleUser:
			out.Messages = append(out.Messages, oaMessage{Role: string(m.Role), Content: ptr(m.Content)})
		case RoleAssistant:
			om := oaMessage{Role: "assistant"}
			if m.Content != "" || len(m.ToolCalls) == 0 {
				om.Content = ptr(m.Content)
			}
			for _, tc := range m.ToolCalls {
				args := string(tc.Arguments)
				if len(bytes.TrimSpace(tc.Arguments)) == 0 {
					args = "{}"
				}
				om.ToolCalls = append(om.ToolCalls, oaToolCall{ID: tc.ID, Type: "function",
					Function: oaFunction{Name: tc.Name, Arguments: args}})
			}
			out.Messages = append(out.Messages, om)
		case RoleTool:
			if m.ToolCallID == "" {
				return nil, fmt.Errorf("llm: %s: %w: message %d: tool result without ToolCallID", c.Name(), ErrBadRequest, i)
			}
			out.Messages = append(out.Messages, oaMessage{Role: "tool", Content: ptr(m.Content), ToolCallID: m.ToolCallID})
		default:
			return nil, fmt.Errorf("llm: %s: %w: message %d: unknown role %q", c.Name(), ErrBadRequest, i, m.Role)
		}
	}
	if len(out.Messages) == 0 {
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
	return bodyWithTools(out, tools, tail)
}

func fuzzClient(t testing.TB, completion, noUsage bool) *OpenAI {
	c, err := NewOpenAI(Config{Name: "fuzz", BaseURL: "http://127.0.0.1:1/v1"})
	if err != nil {
		t.Fatal(err)
	}
	c.t.cfg.MaxCompletionTokens, c.t.cfg.NoStreamUsage = completion, noUsage
	return c
}

// FuzzOpenAIEncode checks the hand-written request encoder against
// encoding/json over the wire types, for any strings, roles and options.
func FuzzOpenAIEncode(f *testing.F) {
	f.Add("m", "sys", "hi <&> \u2028 \x01\b\f\t", "call_1", "read", `{"a":1}`, "out\xff", uint8(0), 0, false)
	f.Add("", "", "", "", "", "", "", uint8(7), 5, true)
	f.Add("model-x", "", "é\"\\", "c", "n", "  ", "r", uint8(3), -1, true)
	f.Fuzz(func(t *testing.T, model, system, content, callID, name, args, result string, shape uint8, maxTok int, stream bool) {
		roles := []Role{RoleUser, RoleAssistant, RoleTool, RoleSystem, "other"}
		req := &Request{Model: model, System: system, MaxTokens: maxTok,
			Tools: []ToolSpec{{Name: "read", Description: "Read <it>.", Parameters: json.RawMessage(`{"type":"object"}`)}}}
		if shape&1 != 0 {
			req.Tools = nil
		}
		if shape&2 != 0 {
			temp := float64(maxTok) / 7
			req.Temperature = &temp
		}
		if shape&4 != 0 {
			req.Stop = []string{content}
		}
		req.Messages = []Message{{Role: RoleUser, Content: content}}
		if shape&8 == 0 {
			req.Messages = append(req.Messages,
				Message{Role: RoleAssistant, Content: result, ToolCalls: []ToolCall{{ID: callID, Name: name, Arguments: json.RawMessage(args)}, {ID: "x", Name: name}}},
				Message{Role: RoleAssistant, ToolCalls: []ToolCall{{ID: callID, Name: name, Arguments: json.RawMessage(args)}}},
				Message{Role: RoleTool, ToolCallID: callID, Content: result, ToolCalls: []ToolCall{{ID: "ignored"}}},
				Message{Role: roles[int(shape>>4)%len(roles)], Content: content, ToolCallID: callID})
		}
		if shape&16 != 0 && shape&8 != 0 {
			req.Messages = nil
		}
		c := fuzzClient(t, shape&32 != 0, shape&64 != 0)
		// Into a reused buffer, as Chat does: what it held is overwritten.
		got, gerr := c.encode([]byte(`{"stale":true}`), req, stream)
		want, werr := c.encodeReference(req, stream)
		if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
			t.Fatalf("errors differ: %v / reference %v", gerr, werr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("body differs:\n got %s\nwant %s", got, want)
		}
	})
}

func BenchmarkOpenAIEncode(b *testing.B) {
	c := fuzzClient(b, false, false)
	req := &Request{Model: "m", System: "You are an agent.", Tools: []ToolSpec{{Name: "read", Parameters: json.RawMessage(`{"type":"object"}`)}},
		Messages: []Message{{Role: RoleUser, Content: "hello there"}, {Role: RoleAssistant, Content: "ok"}, {Role: RoleUser, Content: "again"}}}
	var buf []byte
	for _, tc := range []struct {
		name string
		enc  func(*Request, bool) ([]byte, error)
	}{
		{"direct", func(r *Request, s bool) ([]byte, error) { return c.encode(nil, r, s) }},
		{"direct-reused", func(r *Request, s bool) (b []byte, err error) { b, err = c.encode(buf, r, s); buf = b; return }},
		{"encoding-json", c.encodeReference},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := tc.enc(req, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// jsonStringReference is encoding/json's encoding of s, HTML escaping off.
func jsonStringReference(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// FuzzAppendJSONString: the string encoder (its eight-bytes-at-a-time
// path included) writes what encoding/json writes, from a string and from
// bytes.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain ascii text longer than eight", "tab\there", `quote" and \ back`,
		"é à ü 日本語 and more", "bad \xff utf8 in a long enough string", "\u2028\u2029 separators", "\x7f\x00\x1f edges",
		"12345678\"12345678", "1234567\x80abcdefgh"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := jsonStringReference(s)
		if got := appendJSONString([]byte("x"), s); !bytes.Equal(got[1:], want) {
			t.Fatalf("string %q: got %s, want %s", s, got[1:], want)
		}
		if got := appendJSONString(nil, []byte(s)); !bytes.Equal(got, want) {
			t.Fatalf("bytes %q: got %s, want %s", s, got, want)
		}
	})
}

// TestSpecial8: the lowest byte special8 marks is the first byte that is
// not plain ASCII, for every byte value in every position among plain
// bytes and for random words; a word of plain bytes has none marked.
func TestSpecial8(t *testing.T) {
	plain := func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }
	check := func(b [8]byte) {
		t.Helper()
		x, first := uint64(0), 8
		for i := 7; i >= 0; i-- {
			x = x<<8 | uint64(b[i])
			if !plain(b[i]) {
				first = i
			}
		}
		m := special8(x)
		if got := bits.TrailingZeros64(m) >> 3; got != first {
			t.Fatalf("% x: first marked byte %d, want %d", b, got, first)
		}
	}
	for pos := range 8 {
		for c := range 256 {
			b := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
			b[pos] = byte(c)
			check(b)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		var b [8]byte
		for i := range b {
			b[i] = byte(r.Uint32())
			if r.IntN(3) > 0 {
				b[i] = byte(0x20 + r.IntN(0x60)) // mostly plain, a few edges
			}
		}
		check(b)
	}
}

func BenchmarkAppendJSONString(b *testing.B) {
	for _, tc := range []struct{ name, s string }{
		{"ascii-4KiB", strings.Repeat("The quick brown fox jumps over the lazy dog. ", 92)},
		{"lines-4KiB", strings.Repeat("A line of a tool's output, with a \"quote\".\n", 96)},
		{"utf8-4KiB", strings.Repeat("Größenänderung der Fenster — 日本語のテキスト. ", 80)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.s)))
			buf := make([]byte, 0, 2*len(tc.s))
			for range b.N {
				buf = appendJSONString(buf[:0], tc.s)
			}
		})
	}
}
