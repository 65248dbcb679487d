package agenthost

import (
	"crypto/sha3"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"testing"

	"github.com/weftos/weftos/internal/llm"
)

// TestPromptHash: the incremental prompt hash is hashJSON of the request,
// call after call, as the conversation grows, is trimmed or changes, and
// as tools change or not.
func TestPromptHash(t *testing.T) {
	temp := 0.5
	params := json.RawMessage(`{"type":"object"}`)
	tools := []llm.ToolSpec{{Name: "read_file", Description: "Read <a> file.", Parameters: params}, {Name: "list_dir"}}
	msgs := []llm.Message{{Role: llm.RoleUser, Content: "hi <there> & \u2028"},
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "1", Name: "read_file", Arguments: json.RawMessage(`{ "path": "x" }`)}}},
		{Role: llm.RoleTool, ToolCallID: "1", Content: "bad \xff", IsError: true}}
	var conv []llm.Message
	for i := range 8 {
		conv = append(conv, llm.Message{Role: llm.RoleUser, Content: "q <" + strconv.Itoa(i) + ">"},
			llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: strconv.Itoa(i), Name: "read_file", Arguments: json.RawMessage(`{"p":1}`)}}},
			llm.Message{Role: llm.RoleTool, ToolCallID: strconv.Itoa(i), Content: "ok"})
	}
	zero, negZero, nan := 0.0, math.Copysign(0, -1), math.NaN()
	// Each request through a hasher of its own and one sharing the tool
	// encodings (as a host's agents do).
	var ph promptHasher
	sh := promptHasher{shared: &toolEncodings{}}
	tests := []struct {
		name   string
		before func()
		req    llm.Request
	}{
		{"no tools", nil, llm.Request{Model: "m", Messages: msgs[:1]}},
		{"tools", nil, llm.Request{Model: "m", System: "sys", Messages: msgs, Tools: tools, MaxTokens: 9, Temperature: &temp, Stop: []string{"END"}}},
		{"same tools again", nil, llm.Request{Model: "m", Messages: msgs, Tools: tools}},
		{"empty tool list", nil, llm.Request{Model: "m", Messages: msgs, Tools: []llm.ToolSpec{}}},
		{"tools again", nil, llm.Request{Model: "m", Messages: msgs, Tools: tools}},
		{"a schema changed in place", func() { copy(params[8:], `"string"}`) }, llm.Request{Model: "m", Messages: msgs, Tools: tools}},
		{"empty parameters", nil, llm.Request{Model: "m", Messages: msgs, Tools: []llm.ToolSpec{{Name: "x", Parameters: json.RawMessage{}}}}},
		{"nil parameters", nil, llm.Request{Model: "m", Messages: msgs, Tools: []llm.ToolSpec{{Name: "x"}}}},
		{"invalid arguments", nil, llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "1", Name: "x", Arguments: json.RawMessage(`{`)}}}}}},
		{"conversation: first call", nil, llm.Request{Model: "m", System: "s", Messages: conv[:1], Tools: tools}},
		{"conversation grows", nil, llm.Request{Model: "m", System: "s", Messages: conv[:3], Tools: tools}},
		{"conversation grows by one", nil, llm.Request{Model: "m", System: "s", Messages: conv[:4], Tools: tools}},
		{"same messages again", nil, llm.Request{Model: "m", System: "s", Messages: conv[:4], Tools: tools}},
		{"another system prompt", nil, llm.Request{Model: "m", System: "s2", Messages: conv[:5], Tools: tools}},
		{"trimmed history", nil, llm.Request{Model: "m", System: "s2", Messages: conv[2:6], Tools: tools}},
		{"an earlier message changed in place", func() { conv[4].ToolCalls[0].Arguments[2] = 'q' }, llm.Request{Model: "m", System: "s2", Messages: conv[2:7], Tools: tools}},
		{"fewer messages", nil, llm.Request{Model: "m", System: "s2", Messages: conv[:2], Tools: tools}},
		{"nil messages", nil, llm.Request{Model: "m", Tools: tools}},
		{"empty messages", nil, llm.Request{Model: "m", Messages: []llm.Message{}}},
		{"empty tool calls", nil, llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{}}}}},
		{"no tool calls", nil, llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleAssistant}, {Role: llm.RoleUser, Content: "x"}}}},
		{"temperature 0", nil, llm.Request{Model: "m", Messages: msgs[:1], Temperature: &zero}},
		{"temperature -0", nil, llm.Request{Model: "m", Messages: msgs[:1], Temperature: &negZero}},
		{"temperature -0 again", nil, llm.Request{Model: "m", Messages: msgs[:1], Temperature: &negZero}},
		{"temperature NaN", nil, llm.Request{Model: "m", Messages: msgs[:1], Temperature: &nan}},
		{"stop changed", nil, llm.Request{Model: "m", Messages: msgs[:1], Stop: []string{"a"}}},
		{"stop changed again", nil, llm.Request{Model: "m", Messages: msgs[:1], Stop: []string{"b"}}},
		{"stop empty", nil, llm.Request{Model: "m", Messages: msgs[:1], Stop: []string{}}},
		{"stop nil", nil, llm.Request{Model: "m", Messages: msgs[:1]}},
		{"max tokens", nil, llm.Request{Model: "m", Messages: msgs[:1], MaxTokens: 7}},
	}
	for _, tc := range tests {
		if tc.before != nil {
			tc.before()
		}
		want := referenceHash(&tc.req)
		if got := ph.hash(&tc.req); got != want {
			t.Fatalf("%s: %s, want %s", tc.name, got, want)
		}
		if got := sh.hash(&tc.req); got != want {
			t.Fatalf("%s, shared tool encodings: %s, want %s", tc.name, got, want)
		}
	}
}

// referenceHash is the recorded prompt hash as first defined: SHAKE-256
// of json.Marshal of the request, 32 bytes, in hex.
func referenceHash(v any) string {
	b, _ := json.Marshal(v)
	return hex.EncodeToString(sha3.SumSHAKE256(b, 32))
}

func TestHashJSON(t *testing.T) {
	for _, v := range []any{nil, "x", llm.Message{Role: llm.RoleUser, Content: "<&>"}, math.NaN(), &llm.Request{Model: "m"}} {
		if got, want := hashJSON(v), referenceHash(v); got != want {
			t.Errorf("%v: %s, want %s", v, got, want)
		}
	}
}

// FuzzPromptHash: over a conversation that grows, is trimmed, changes in
// place and changes tools and options, the incremental hash is always
// the reference hash of the request.
func FuzzPromptHash(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, "hi <&>", `{"a": 1}`)
	f.Add([]byte{1, 1, 1, 9, 9, 3, 3, 0, 0, 7}, "\u2028\xff", `{`)
	f.Fuzz(func(t *testing.T, ops []byte, text, args string) {
		temp := 0.25
		params := json.RawMessage(`{"type":"object"}`)
		tools := []llm.ToolSpec{{Name: "a", Description: text, Parameters: params}}
		req := llm.Request{Model: "m", System: "s"}
		var ph promptHasher
		sh := promptHasher{shared: &toolEncodings{}}
		for i, op := range ops {
			switch op % 12 {
			case 0:
				req.Messages = append(req.Messages, llm.Message{Role: llm.RoleUser, Content: text + strconv.Itoa(i)})
			case 1:
				req.Messages = append(req.Messages, llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: strconv.Itoa(i), Name: "a", Arguments: json.RawMessage(args)}}})
			case 2:
				req.Messages = append(req.Messages, llm.Message{Role: llm.RoleTool, ToolCallID: strconv.Itoa(i), Content: text, IsError: i%2 == 0})
			case 3:
				if len(req.Messages) > 0 {
					req.Messages = req.Messages[1:]
				}
			case 4:
				if len(req.Messages) > 0 {
					req.Messages[len(req.Messages)/2].Content += "!"
				}
			case 5:
				req.Tools = tools
			case 6:
				req.Tools = nil
			case 7:
				if len(params) > 2 {
					params[2] ^= 1 // in place
				}
			case 8:
				req.Temperature = &temp
				temp += 0.5
			case 9:
				req.Stop = append(req.Stop, text)
			case 10:
				req.System += "x"
			case 11:
				req.Messages = append([]llm.Message(nil), req.Messages...)
				req.MaxTokens++
			}
			want := referenceHash(&req)
			if got := ph.hash(&req); got != want {
				t.Fatalf("op %d (%d): %s, want %s", i, op%12, got, want)
			}
			if got := sh.hash(&req); got != want {
				t.Fatalf("op %d (%d), shared tool encodings: %s, want %s", i, op%12, got, want)
			}
		}
	})
}

// TestToolEncodingsBounded: the shared encodings keep the most recently
// used lists, at most maxToolSets, and answer each list with its own
// encoding.
func TestToolEncodingsBounded(t *testing.T) {
	var te toolEncodings
	list := func(i int) []llm.ToolSpec {
		return []llm.ToolSpec{{Name: "t" + strconv.Itoa(i), Parameters: json.RawMessage(`{"type":"object"}`)}}
	}
	for round := range 2 {
		for i := range maxToolSets + 5 {
			enc, err := te.encoded(list(i))
			want, _ := json.Marshal(list(i))
			if err != nil || string(enc) != string(want) {
				t.Fatalf("round %d, list %d: %s %v, want %s", round, i, enc, err, want)
			}
		}
		if len(te.sets) != maxToolSets || te.sets[0].specs[0].Name != "t"+strconv.Itoa(maxToolSets+4) {
			t.Fatalf("round %d: %d sets, first %q", round, len(te.sets), te.sets[0].specs[0].Name)
		}
	}
}

// TestPromptHashDefinition pins what llm.call records as prompt_hash: the
// SHAKE-256 (32 bytes, hex) of exactly this encoding of the request —
// Tools before Messages — so that a change to llm.Request's fields or
// order, which would change every recorded hash, fails here.
func TestPromptHashDefinition(t *testing.T) {
	temp := 0.5
	req := llm.Request{Model: "m", System: "s", Tools: []llm.ToolSpec{{Name: "t", Description: "d", Parameters: json.RawMessage(`{"type":"object"}`)}},
		Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}, MaxTokens: 5, Temperature: &temp, Stop: []string{"x"}}
	const encoding = `{"Model":"m","System":"s","Tools":[{"name":"t","description":"d","parameters":{"type":"object"}}],` +
		`"Messages":[{"role":"user","content":"hi"}],"MaxTokens":5,"Temperature":0.5,"Stop":["x"]}`
	if b, _ := json.Marshal(&req); string(b) != encoding {
		t.Fatalf("encoding of the request:\n%s\nwant\n%s", b, encoding)
	}
	want := hex.EncodeToString(sha3.SumSHAKE256([]byte(encoding), 32))
	var ph promptHasher
	if got := ph.hash(&req); got != want {
		t.Fatalf("prompt hash %s, want %s", got, want)
	}
}
