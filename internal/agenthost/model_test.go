package agenthost

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/weftos/weftos/internal/llm"
)

// TestProviderEndpoint: only a loopback IP literal or localhost counts as
// this machine; every other host is remote, whatever it resolves to.
func TestProviderEndpoint(t *testing.T) {
	for _, tc := range []struct {
		kind    llm.Kind
		baseURL string
		want    Endpoint
	}{
		{llm.KindAnthropic, "", Endpoint{Host: "api.anthropic.com"}},
		{llm.KindOpenAI, "http://127.0.0.1:11434/v1", Endpoint{Host: "127.0.0.1", Loopback: true}},
		{llm.KindOpenAI, "http://127.9.9.9/v1", Endpoint{Host: "127.9.9.9", Loopback: true}},
		{llm.KindOpenAI, "http://[::1]:8080/", Endpoint{Host: "::1", Loopback: true}},
		{llm.KindOpenAI, "http://LocalHost:8080", Endpoint{Host: "localhost", Loopback: true}},
		{llm.KindOpenAI, "http://models.localhost/v1", Endpoint{Host: "models.localhost", Loopback: true}},
		{llm.KindOpenAI, "http://10.0.0.5:8000/v1", Endpoint{Host: "10.0.0.5"}},
		{llm.KindOpenAI, "https://localhost.example.com/v1", Endpoint{Host: "localhost.example.com"}},
		{llm.KindOpenAI, "://bad", Endpoint{}},
	} {
		if got := ProviderEndpoint(tc.kind, tc.baseURL); got != tc.want {
			t.Errorf("ProviderEndpoint(%s, %q) = %+v, want %+v", tc.kind, tc.baseURL, got, tc.want)
		}
	}
}

// TestReplyHash: the reply hash of an llm.call record, computed with the
// prompt hasher's reused encoder, is the reference hash of the reply
// (json.Marshal of the message, as first defined), between prompt hashes
// that use the same encoder.
func TestReplyHash(t *testing.T) {
	var ph promptHasher
	req := llm.Request{Model: "m", System: "s"}
	for i, msg := range []llm.Message{
		{Role: llm.RoleAssistant, Content: "ok"},
		{Role: llm.RoleAssistant, Content: "<&> \u2028 \xff"},
		{Role: llm.RoleAssistant},
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c1", Name: "read_file", Arguments: json.RawMessage(`{"path": "a"}`)}}},
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c2", Name: "x", Arguments: json.RawMessage(`{`)}}}, // does not encode
		{Role: llm.RoleTool, ToolCallID: "c1", Content: "out", IsError: true},
	} {
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleUser, Content: strconv.Itoa(i)})
		if got, want := ph.hash(&req), referenceHash(&req); got != want {
			t.Fatalf("%d: prompt hash %s, want %s", i, got, want)
		}
		if got, want := ph.hashOf(&msg), referenceHash(msg); got != want {
			t.Errorf("%d: reply hash %s, want %s", i, got, want)
		}
		req.Messages = append(req.Messages, msg)
	}
}
