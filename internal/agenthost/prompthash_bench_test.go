package agenthost

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/llm"
)

// BenchmarkPromptHash: the llm.call prompt hash of one model call in a
// growing conversation (a user message and the reply added per call),
// with twelve tools of ~450-byte schemas, as the built-in tools are.
func BenchmarkPromptHash(b *testing.B) {
	var tools []llm.ToolSpec
	for i := range 12 {
		schema := `{"type":"object","properties":{"path":{"type":"string","description":"` + strings.Repeat("a path in the workspace ", 16) + `"}},"required":["path"]}`
		tools = append(tools, llm.ToolSpec{Name: "tool_" + strconv.Itoa(i), Description: "Does thing " + strconv.Itoa(i) + ".", Parameters: json.RawMessage(schema)})
	}
	var ph promptHasher
	req := llm.Request{Model: "m", System: "You are an agent.", Tools: tools}
	b.ReportAllocs()
	for i := range b.N {
		if i%20 == 0 {
			req.Messages = nil // a new session now and then: conversations stay short
		}
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleUser, Content: "question " + strconv.Itoa(i)})
		_ = ph.hash(&req)
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleAssistant, Content: "ok"})
	}
}
