package llm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// goldenRequest exercises every message shape the agent loop produces.
func goldenRequest() *llm.Request {
	temp := 0.2
	return &llm.Request{
		Model:       "model-x",
		System:      "You are WeftOS's helpful agent.",
		MaxTokens:   1000,
		Temperature: &temp,
		Stop:        []string{"END"},
		Tools: []llm.ToolSpec{
			{Name: "read_file", Description: "Read a file in the workspace.",
				Parameters: json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}`)},
			{Name: "list_dir", Description: "List a directory."},
		},
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Content: "Workspace: /srv/w"},
			{Role: llm.RoleUser, Content: "Summarise README.md and list docs/."},
			{Role: llm.RoleAssistant, Content: "Reading both.", ToolCalls: []llm.ToolCall{
				{ID: "call_1", Name: "read_file", Arguments: json.RawMessage(`{"path":"README.md"}`)},
				{ID: "call_2", Name: "list_dir", Arguments: json.RawMessage(`{}`)},
			}},
			{Role: llm.RoleTool, ToolCallID: "call_1", Content: "# WeftOS\nA secure OS for agents."},
			{Role: llm.RoleTool, ToolCallID: "call_2", Content: "permission denied", IsError: true},
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{
				{ID: "call_3", Name: "list_dir", Arguments: json.RawMessage(`{"path":"docs"}`)},
			}},
			{Role: llm.RoleTool, ToolCallID: "call_3", Content: "CONTRIBUTING.md"},
			{Role: llm.RoleAssistant, Content: "WeftOS is a secure OS for agents; docs/ has CONTRIBUTING.md."},
			{Role: llm.RoleUser, Content: "Thanks — and in one word? <b>&</b>"},
		},
	}
}

func TestGoldenRequestBodies(t *testing.T) {
	for _, kind := range kinds {
		for _, stream := range []bool{false, true} {
			name := string(kind) + "_request"
			if stream {
				name += "_stream"
			}
			t.Run(name, func(t *testing.T) {
				f := newFixture(t, kind, llmtest.Options{}, func(c *llm.Config) {
					c.MaxCompletionTokens = false
				})
				f.srv.Push(llmtest.Text("Secure."))
				var cb func(llm.Delta)
				if stream {
					cb = func(llm.Delta) {}
				}
				if _, err := f.p.Chat(context.Background(), goldenRequest(), cb); err != nil {
					t.Fatalf("%v (violations %v)", err, f.srv.Violations())
				}
				var got bytes.Buffer
				if err := json.Indent(&got, f.srv.ChatRequests()[0].Body, "", "  "); err != nil {
					t.Fatal(err)
				}
				got.WriteByte('\n')
				path := filepath.Join("testdata", name+".golden.json")
				if *update {
					if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -run TestGoldenRequestBodies -update)", err)
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Errorf("request body differs from %s:\n--- got\n%s\n--- want\n%s", path, got.String(), want)
				}
			})
		}
	}
}

func TestRequestHeaders(t *testing.T) {
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			f := newFixture(t, kind, llmtest.Options{}, func(c *llm.Config) {
				c.Headers = map[string]string{"HTTP-Referer": "https://weftos.dev"}
			})
			f.srv.Push(llmtest.Text("x"))
			if _, err := f.p.Chat(context.Background(), userReq("m", "hi"), func(llm.Delta) {}); err != nil {
				t.Fatal(err)
			}
			h := f.srv.ChatRequests()[0].Header
			want := map[string]string{"Content-Type": "application/json", "Accept": "text/event-stream",
				"Http-Referer": "https://weftos.dev"}
			if kind == llm.KindAnthropic {
				want["X-Api-Key"] = testKey
				want["Anthropic-Version"] = "2023-06-01"
			} else {
				want["Authorization"] = "Bearer " + testKey
			}
			for k, v := range want {
				if h.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, h.Get(k), v)
				}
			}
			if kind == llm.KindAnthropic && h.Get("Authorization") != "" {
				t.Error("Anthropic request carries Authorization")
			}
			if kind == llm.KindOpenAI && h.Get("X-Api-Key") != "" {
				t.Error("OpenAI request carries x-api-key")
			}
		})
	}
}

func TestMaxTokensDefaults(t *testing.T) {
	cases := []struct {
		name string
		kind llm.Kind
		mod  func(*llm.Config)
		key  string
		want any
	}{
		{"anthropic default", llm.KindAnthropic, nil, "max_tokens", float64(llm.DefaultMaxTokens)},
		{"anthropic configured", llm.KindAnthropic, func(c *llm.Config) { c.MaxTokens = 77 }, "max_tokens", float64(77)},
		{"openai unset", llm.KindOpenAI, nil, "max_tokens", nil},
		{"openai completion field", llm.KindOpenAI, func(c *llm.Config) { c.MaxTokens = 9; c.MaxCompletionTokens = true }, "max_completion_tokens", float64(9)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.kind, llmtest.Options{}, tc.mod)
			f.srv.Push(llmtest.Text("x"))
			if _, err := f.p.Chat(context.Background(), userReq("m", "hi"), nil); err != nil {
				t.Fatal(err)
			}
			if got := f.srv.ChatRequests()[0].Map()[tc.key]; got != tc.want {
				t.Errorf("%s = %v, want %v", tc.key, got, tc.want)
			}
		})
	}
}
