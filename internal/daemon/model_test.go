package daemon

import (
	"encoding/json"
	"testing"

	"github.com/weftos/weftos/internal/llm"
)

// TestPromptHash: the kept-tools prompt hash is hashJSON of the request,
// call after call, as tools change or not.
func TestPromptHash(t *testing.T) {
	temp := 0.5
	params := json.RawMessage(`{"type":"object"}`)
	tools := []llm.ToolSpec{{Name: "read_file", Description: "Read <a> file.", Parameters: params}, {Name: "list_dir"}}
	msgs := []llm.Message{{Role: llm.RoleUser, Content: "hi <there> & \u2028"},
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "1", Name: "read_file", Arguments: json.RawMessage(`{ "path": "x" }`)}}},
		{Role: llm.RoleTool, ToolCallID: "1", Content: "bad \xff", IsError: true}}
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
