package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// Streaming a reply: tokens are printed as they arrive.
func ExampleOpenAI_Chat() {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	srv.Push(llmtest.Text("Hello from a local model."))

	p, err := llm.NewOpenAI(llm.Config{BaseURL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		fmt.Println(err)
		return
	}
	req := &llm.Request{Model: "llama3.2", Messages: []llm.Message{{Role: llm.RoleUser, Content: "Hi"}}}
	resp, err := p.Chat(context.Background(), req, func(d llm.Delta) {
		if d.Kind == llm.DeltaText {
			fmt.Print(d.Text)
		}
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println()
	fmt.Println(resp.StopReason, resp.Usage.OutputTokens > 0)
	// Output:
	// Hello from a local model.
	// end true
}

// One tool round trip with Anthropic's Messages API.
func ExampleAnthropic_Chat() {
	srv := llmtest.NewAnthropic(llmtest.Options{})
	defer srv.Close()
	srv.Push(
		llmtest.Calls(llmtest.ToolCall{ID: "toolu_1", Name: "read_file", Arguments: `{"path":"README.md"}`}),
		llmtest.Text("It describes WeftOS."),
	)
	p, err := llm.NewAnthropic(llm.Config{BaseURL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		fmt.Println(err)
		return
	}
	req := &llm.Request{
		Model:  "claude-sonnet-4-5",
		System: "Answer briefly.",
		Tools: []llm.ToolSpec{{Name: "read_file", Description: "Read a workspace file",
			Parameters: json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}`)}},
		Messages: []llm.Message{{Role: llm.RoleUser, Content: "What is README.md about?"}},
	}
	ctx := context.Background()
	for {
		resp, err := p.Chat(ctx, req, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		req.Messages = append(req.Messages, resp.Message)
		if resp.StopReason != llm.StopToolUse {
			fmt.Println(resp.Message.Content)
			return
		}
		for _, call := range resp.Message.ToolCalls {
			fmt.Printf("tool %s %s\n", call.Name, call.Arguments)
			req.Messages = append(req.Messages, llm.Message{Role: llm.RoleTool, ToolCallID: call.ID, Content: "# WeftOS"})
		}
	}
	// Output:
	// tool read_file {"path":"README.md"}
	// It describes WeftOS.
}

func ExampleRegistry_Resolve() {
	e := map[string]string{"ANTHROPIC_API_KEY": "sk-ant-example", "OPENAI_BASE_URL": "http://localhost:11434/v1"}
	reg, err := llm.NewRegistryFromEnv(func(k string) string { return e[k] }, llm.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range []string{"anthropic/claude-sonnet-4-5", "openai/qwen2.5:7b", "llama3.2", "groq/llama3"} {
		p, model, err := reg.Resolve(name)
		if err != nil {
			fmt.Println(errors.Is(err, llm.ErrUnknownProvider), err)
			continue
		}
		fmt.Println(p.Name(), model)
	}
	// Output:
	// anthropic claude-sonnet-4-5
	// openai qwen2.5:7b
	// openai llama3.2
	// true llm: unknown provider "groq" in model "groq/llama3" (configured: openai, anthropic)
}

func ExampleNewRegistryFromEnv() {
	_, err := llm.NewRegistryFromEnv(func(string) string { return "" }, llm.Config{})
	fmt.Println(errors.Is(err, llm.ErrNoProvider))
	fmt.Println(strings.Contains(err.Error(), "OPENAI_BASE_URL=http://localhost:11434/v1"))
	// Output:
	// true
	// true
}

// A failover list: the first provider is overloaded, the second answers.
func ExampleFailover() {
	busy := llmtest.NewAnthropic(llmtest.Options{})
	defer busy.Close()
	busy.Push(llmtest.Fail(529))
	spare := llmtest.NewOpenAI(llmtest.Options{})
	defer spare.Close()
	spare.Push(llmtest.Text("answered by the spare"))

	a, _ := llm.NewAnthropic(llm.Config{BaseURL: busy.URL, HTTPClient: busy.Client(), MaxRetries: -1})
	o, _ := llm.NewOpenAI(llm.Config{BaseURL: spare.URL, HTTPClient: spare.Client()})
	reg, _ := llm.NewRegistry(a, o)
	fo, err := reg.Failover("anthropic/claude-sonnet-4-5", "openai/gpt-4o-mini")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := fo.Chat(context.Background(), &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Provider, resp.Model, resp.Message.Content)
	// Output: openai gpt-4o-mini answered by the spare
}

func ExampleAPIError() {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	srv.Push(llmtest.Turn{Error: &llmtest.Error{Status: 400, Code: "context_length_exceeded",
		Message: "This model's maximum context length is 8192 tokens."}})
	p, _ := llm.NewOpenAI(llm.Config{BaseURL: srv.URL, HTTPClient: srv.Client()})
	_, err := p.Chat(context.Background(), userReq("gpt-4o-mini", "a very long prompt"), nil)
	var ae *llm.APIError
	fmt.Println(errors.As(err, &ae), ae.Status, errors.Is(err, llm.ErrContextLength), llm.Retryable(err))
	fmt.Fprintln(os.Stdout, err)
	// Output:
	// true 400 true false
	// llm: openai: HTTP 400 invalid_request_error (context_length_exceeded): This model's maximum context length is 8192 tokens. [request req_llmtest]
}
