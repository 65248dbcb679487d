package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

func TestChatTextStreamed(t *testing.T) {
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			f := newFixture(t, kind, llmtest.Options{}, nil)
			f.srv.Push(llmtest.Turn{Text: "Hello there, world. Ünïcode ✓", Usage: llmtest.Usage{InputTokens: 11, OutputTokens: 7}})
			var c collector
			resp, err := f.p.Chat(context.Background(), userReq("m-1", "hi"), c.on)
			if err != nil {
				t.Fatal(err)
			}
			want := "Hello there, world. Ünïcode ✓"
			if resp.Message.Content != want || c.text() != want {
				t.Fatalf("content %q, streamed %q, want %q", resp.Message.Content, c.text(), want)
			}
			if n := c.count(llm.DeltaText); n < 4 {
				t.Errorf("got %d text deltas, want one per word (>=4)", n)
			}
			if resp.StopReason != llm.StopEnd || resp.Message.Role != llm.RoleAssistant {
				t.Errorf("stop %q role %q", resp.StopReason, resp.Message.Role)
			}
			if resp.Usage.InputTokens != 11 || resp.Usage.OutputTokens != 7 {
				t.Errorf("usage %+v, want 11/7", resp.Usage)
			}
			if resp.Provider != string(kind) || resp.Model != "m-1" || resp.ID == "" {
				t.Errorf("provider %q model %q id %q", resp.Provider, resp.Model, resp.ID)
			}
			if v := f.srv.Violations(); len(v) > 0 {
				t.Fatalf("protocol violations: %v", v)
			}
			body := f.srv.ChatRequests()[0].Map()
			if body["stream"] != true {
				t.Errorf("stream flag not sent: %v", body)
			}
		})
	}
}

func TestChatNonStreaming(t *testing.T) {
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			f := newFixture(t, kind, llmtest.Options{}, nil)
			f.srv.Push(llmtest.Turn{Text: "plain answer", ToolCalls: []llmtest.ToolCall{{ID: "c1", Name: "read_file", Arguments: `{"path":"a"}`}}})
			resp, err := f.p.Chat(context.Background(), userReq("m", "hi"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Message.Content != "plain answer" || resp.StopReason != llm.StopToolUse {
				t.Fatalf("got %+v", resp)
			}
			if len(resp.Message.ToolCalls) != 1 || string(resp.Message.ToolCalls[0].Arguments) != `{"path":"a"}` {
				t.Fatalf("tool calls %+v", resp.Message.ToolCalls)
			}
			if resp.Usage.InputTokens == 0 || resp.Usage.OutputTokens == 0 {
				t.Errorf("usage missing: %+v", resp.Usage)
			}
			if body := f.srv.ChatRequests()[0].Map(); body["stream"] != nil {
				t.Errorf("non-streaming request sent stream=%v", body["stream"])
			}
		})
	}
}

// TestChatParallelToolCallsRoundTrip: the model asks for two tools in one
// turn (streamed as fragments), the results go back, the model answers.
// The fake server rejects any request whose tool results do not answer the
// preceding calls in the vendor's exact shape.
func TestChatParallelToolCallsRoundTrip(t *testing.T) {
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			f := newFixture(t, kind, llmtest.Options{}, nil)
			f.srv.Push(
				llmtest.Turn{Text: "Let me look.", ToolCalls: []llmtest.ToolCall{
					{ID: "call_a", Name: "read_file", Arguments: `{"path":"README.md","limit":4096}`},
					{ID: "call_b", Name: "list_dir", Arguments: `{"path":"docs/ü"}`},
				}},
				llmtest.Text("Both done."),
			)
			tools := []llm.ToolSpec{
				{Name: "read_file", Description: "Read a file", Parameters: json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}`)},
				{Name: "list_dir", Description: "List a directory"},
			}
			req := &llm.Request{Model: "m", System: "You are terse.", Tools: tools,
				Messages: []llm.Message{{Role: llm.RoleUser, Content: "look around"}}}
			var c collector
			resp, err := f.p.Chat(context.Background(), req, c.on)
			if err != nil {
				t.Fatal(err)
			}
			calls := resp.Message.ToolCalls
			if resp.StopReason != llm.StopToolUse || len(calls) != 2 {
				t.Fatalf("stop %q calls %+v", resp.StopReason, calls)
			}
			if calls[0].ID != "call_a" || calls[0].Name != "read_file" || string(calls[0].Arguments) != `{"path":"README.md","limit":4096}` {
				t.Errorf("call 0 = %+v", calls[0])
			}
			if calls[1].ID != "call_b" || calls[1].Name != "list_dir" || string(calls[1].Arguments) != `{"path":"docs/ü"}` {
				t.Errorf("call 1 = %+v", calls[1])
			}
			if c.count(llm.DeltaToolCall) != 2 || c.count(llm.DeltaToolArgs) < 4 {
				t.Errorf("deltas: %d tool starts, %d arg fragments", c.count(llm.DeltaToolCall), c.count(llm.DeltaToolArgs))
			}
			if resp.Message.Content != "Let me look." {
				t.Errorf("content %q", resp.Message.Content)
			}
			req.Messages = append(req.Messages, resp.Message,
				llm.Message{Role: llm.RoleTool, ToolCallID: "call_a", Content: "# WeftOS"},
				llm.Message{Role: llm.RoleTool, ToolCallID: "call_b", Content: "no such dir", IsError: true})
			resp2, err := f.p.Chat(context.Background(), req, c.on)
			if err != nil {
				t.Fatalf("second turn: %v (violations %v)", err, f.srv.Violations())
			}
			if resp2.Message.Content != "Both done." || resp2.StopReason != llm.StopEnd {
				t.Fatalf("second turn %+v", resp2)
			}
			if v := f.srv.Violations(); len(v) > 0 {
				t.Fatalf("violations: %v", v)
			}
			assertToolResultsShape(t, kind, f.srv.ChatRequests()[1])
		})
	}
}

func assertToolResultsShape(t *testing.T, kind llm.Kind, r llmtest.Request) {
	t.Helper()
	body := string(r.Body)
	switch kind {
	case llm.KindOpenAI:
		for _, want := range []string{`"role":"tool","content":"# WeftOS","tool_call_id":"call_a"`,
			`"tool_calls":[{"id":"call_a","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"README.md\",\"limit\":4096}"}}`} {
			if !strings.Contains(body, want) {
				t.Errorf("request lacks %s:\n%s", want, body)
			}
		}
	case llm.KindAnthropic:
		for _, want := range []string{
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_a","content":"# WeftOS"},{"type":"tool_result","tool_use_id":"call_b","content":"no such dir","is_error":true}]}`,
			`{"type":"tool_use","id":"call_a","name":"read_file","input":{"path":"README.md","limit":4096}}`,
			`"system":"You are terse."`} {
			if !strings.Contains(body, want) {
				t.Errorf("request lacks %s:\n%s", want, body)
			}
		}
	}
}

func TestChatUsageOnlyWhenRequested(t *testing.T) {
	f := newFixture(t, llm.KindOpenAI, llmtest.Options{}, func(c *llm.Config) { c.NoStreamUsage = true })
	f.srv.Push(llmtest.Turn{Text: "x", Usage: llmtest.Usage{InputTokens: 5, OutputTokens: 5}})
	resp, err := f.p.Chat(context.Background(), userReq("m", "hi"), func(llm.Delta) {})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage != (llm.Usage{}) {
		t.Errorf("usage %+v without include_usage, want zero", resp.Usage)
	}
	if strings.Contains(string(f.srv.ChatRequests()[0].Body), "stream_options") {
		t.Error("stream_options sent despite NoStreamUsage")
	}
}

func TestChatModels(t *testing.T) {
	models := []string{"m-c", "m-a", "m-b", "m-e", "m-d"}
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			f := newFixture(t, kind, llmtest.Options{Models: models, ModelsPageSize: 2}, nil)
			got, err := f.p.Models(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range got {
				ids = append(ids, m.ID)
				if m.Provider != string(kind) || m.Created.IsZero() {
					t.Errorf("model %+v", m)
				}
			}
			if strings.Join(ids, ",") != "m-a,m-b,m-c,m-d,m-e" {
				t.Errorf("ids %v", ids)
			}
			if kind == llm.KindAnthropic && len(f.srv.Requests()) != 3 {
				t.Errorf("want 3 paginated requests, got %d", len(f.srv.Requests()))
			}
		})
	}
}

func TestChatBadRequests(t *testing.T) {
	cases := []struct {
		name string
		req  *llm.Request
	}{
		{"nil", nil},
		{"no model", &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "x"}}}},
		{"no messages", &llm.Request{Model: "m"}},
		{"bad role", &llm.Request{Model: "m", Messages: []llm.Message{{Role: "robot", Content: "x"}}}},
		{"tool without id", &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleTool, Content: "x"}}}},
		{"bad schema", &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "x"}},
			Tools: []llm.ToolSpec{{Name: "t", Parameters: json.RawMessage(`{nope`)}}}},
	}
	for _, kind := range kinds {
		f := newFixture(t, kind, llmtest.Options{}, nil)
		for _, tc := range cases {
			t.Run(string(kind)+"/"+tc.name, func(t *testing.T) {
				_, err := f.p.Chat(context.Background(), tc.req, nil)
				if !errors.Is(err, llm.ErrBadRequest) {
					t.Fatalf("err = %v, want ErrBadRequest", err)
				}
			})
		}
		if n := len(f.srv.Requests()); n != 0 {
			t.Errorf("%s: %d requests reached the server", kind, n)
		}
	}
}

// TestConcurrentChats: one client, many goroutines, both vendors; the
// fake answers each request with text naming its own prompt.
func TestConcurrentChats(t *testing.T) {
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			echo := func(r llmtest.Request) llmtest.Turn {
				s := string(r.Body)
				i := strings.Index(s, "prompt-")
				return llmtest.Text("re " + s[i:i+len("prompt-00")])
			}
			f := newFixture(t, kind, llmtest.Options{Handler: echo}, nil)
			const n = 32
			errs := make(chan error, n)
			for i := 0; i < n; i++ {
				go func() {
					prompt := fmt.Sprintf("prompt-%02d", i)
					var cb func(llm.Delta)
					if i%2 == 0 {
						cb = func(llm.Delta) {}
					}
					resp, err := f.p.Chat(context.Background(), userReq("m", prompt), cb)
					if err == nil && resp.Message.Content != "re "+prompt {
						err = fmt.Errorf("got %q for %s", resp.Message.Content, prompt)
					}
					errs <- err
				}()
			}
			for i := 0; i < n; i++ {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
			if f.srv.Served() != n {
				t.Errorf("served %d", f.srv.Served())
			}
		})
	}
}
