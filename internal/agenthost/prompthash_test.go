package agenthost

import (
	"encoding/json"
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
	var ph promptHasher
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
	}
	for _, tc := range tests {
		if tc.before != nil {
			tc.before()
		}
		if got, want := ph.hash(&tc.req), hashJSON(&tc.req); got != want {
			t.Fatalf("%s: %s, want %s", tc.name, got, want)
		}
	}
}
