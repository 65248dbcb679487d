//go:build !nochannels && !nollm

package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// gwNode is a daemon with the gateway on loopback, a fake model and a
// client of the local API.
type gwNode struct {
	d    *Daemon
	c    *client.Client
	llm  *llmtest.Server
	base string // http://ADDR
	home string
}

func startGateway(t *testing.T, extra string, opts llmtest.Options) *gwNode {
	t.Helper()
	return startGatewayAgents(t, "", extra, opts)
}

// startGatewayAgents is startGateway with more keys in [agents].
func startGatewayAgents(t *testing.T, agents, extra string, opts llmtest.Options) *gwNode {
	t.Helper()
	if opts.Handler == nil {
		opts.Handler = func(llmtest.Request) llmtest.Turn { return llmtest.Text("hello from the agent") }
	}
	srv := llmtest.NewOpenAI(opts)
	t.Cleanup(srv.Close)
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "k")
	t.Setenv("ANTHROPIC_API_KEY", "")
	home := t.TempDir()
	// Pings every 20 ms, unless extra (keys of [gateway] first) sets its own.
	keep := "keepalive = \"20ms\"\n"
	if strings.HasPrefix(extra, "keepalive") {
		keep = ""
	}
	cfg := fmt.Sprintf("[agents]\nmodel = \"openai/m\"\n"+agents+"[gateway]\nlisten = \"127.0.0.1:0\"\n"+keep+"workspace = %q\n", t.TempDir()) + extra
	if err := os.WriteFile(filepath.Join(home, "weftos.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := open(t, home)
	t.Cleanup(func() { closeD(t, d) })
	c, err := client.New(home)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &gwNode{d: d, c: c, llm: srv, base: "http://" + d.gw.addr, home: home}
}

func (n *gwNode) token(t *testing.T, agents ...string) string {
	t.Helper()
	out, err := n.c.GatewayTokenCreate(context.Background(), apitype.GatewayTokenCreateRequest{Agents: agents})
	if err != nil {
		t.Fatal(err)
	}
	return out.Token
}

// openaiClient is the official OpenAI SDK pointed at the gateway.
func (n *gwNode) openaiClient(t *testing.T, token string) openai.Client {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	return openai.NewClient(option.WithBaseURL(n.base+"/v1/"), option.WithAPIKey(token), option.WithHTTPClient(hc), option.WithMaxRetries(0))
}

// kinds counts the chain's events by kind.
func (n *gwNode) kinds(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for seq := range n.d.chain.Len() {
		ev, err := n.d.chain.Get(seq)
		if err != nil {
			t.Fatal(err)
		}
		out[ev.Kind]++
	}
	return out
}

func TestGatewayOpenAI(t *testing.T) {
	n := startGateway(t, "", llmtest.Options{})
	ctx := context.Background()
	oc := n.openaiClient(t, n.token(t, "default"))

	page, err := oc.Models.List(ctx)
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != "weft/default" || page.Data[0].OwnedBy != "weftos" {
		t.Fatalf("models: %+v %v", page, err)
	}
	m, err := oc.Models.Get(ctx, "weft/default")
	if err != nil || m.ID != "weft/default" {
		t.Fatalf("model: %+v %v", m, err)
	}
	var apiErr *openai.Error
	if _, err := oc.Models.Get(ctx, "weft/nosuch"); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Fatalf("unknown model: %v", err)
	}

	// Not streamed.
	resp, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "weft/default",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content != "hello from the agent" || resp.Choices[0].FinishReason != "stop" || resp.Usage.TotalTokens == 0 {
		t.Fatalf("completion %+v", resp)
	}

	// Streamed, with usage, array content and a conversation the client names.
	stream := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "weft/default", User: openai.String("ann"),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart("part one"), openai.TextContentPart("part two")})}})
	var acc openai.ChatCompletionAccumulator
	var first *openai.ChatCompletionChunk
	for stream.Next() {
		ch := stream.Current()
		if first == nil {
			first = &ch
		}
		acc.AddChunk(ch)
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	stream.Close()
	if first == nil || len(first.Choices) != 1 || first.Choices[0].Delta.Role != "assistant" {
		t.Fatalf("first chunk %+v", first)
	}
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != "hello from the agent" || acc.Choices[0].FinishReason != "stop" || acc.Usage.TotalTokens == 0 {
		t.Fatalf("accumulated %+v", acc.ChatCompletion)
	}
	var sent struct {
		Messages []struct{ Role, Content string } `json:"messages"`
	}
	reqs := n.llm.Requests()
	if err := reqs[len(reqs)-1].Decode(&sent); err != nil || !strings.Contains(sent.Messages[len(sent.Messages)-1].Content, "part one\npart two") {
		t.Fatalf("the model saw %+v (%v)", sent, err)
	}

	// tools are refused clearly, in OpenAI's error shape.
	_, err = oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "weft/default",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		Tools:    []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "f"})}})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "tools" || apiErr.Type != "invalid_request_error" {
		t.Fatalf("tools: %v", err)
	}

	// An Open WebUI title task is answered without the model.
	before := len(n.llm.Requests())
	resp, err = oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "weft/default",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n<chat_history>\nUSER: How do I bake bread at home quickly?\nASSISTANT: ...\n</chat_history>")}})
	if err != nil || resp.Choices[0].Message.Content != `{"title":"How do I bake bread"}` || len(n.llm.Requests()) != before {
		t.Fatalf("title task: %v %+v", err, resp)
	}

	// Every message is a governed, recorded act: a decision and an outcome
	// per exchange, and the audit finds nothing wrong.
	k := n.kinds(t)
	if k[governance.KindChannelMessage] != 2 || k[governance.KindGatewayToken] != 1 {
		t.Fatalf("chain kinds %v", k)
	}
	rep, err := n.c.GovAudit(ctx, 0)
	if err != nil || !rep.OK() {
		t.Fatalf("audit %+v %v", rep, err)
	}
}

func TestGatewayAuthAndLimits(t *testing.T) {
	n := startGateway(t, "burst = 2\nrate_per_minute = 1\n", llmtest.Options{})
	ctx := context.Background()
	tok := n.token(t, "default")
	var apiErr *openai.Error
	for _, bad := range []string{"", "sk-nope", "wgw_0123456789_" + strings.Repeat("A", 43), tok + "x"} {
		oc := n.openaiClient(t, bad)
		_, err := oc.Models.List(ctx)
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
			t.Fatalf("token %q: %v", bad, err)
		}
	}
	oc := n.openaiClient(t, tok)
	if _, err := oc.Models.List(ctx); err != nil {
		t.Fatal(err)
	}
	// A token reaches only its agents.
	_, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "weft/other",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("other agent: %v", err)
	}
	// The burst is spent: 429 with Retry-After.
	_, err = oc.Models.List(ctx)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Response.Header.Get("Retry-After") == "" || apiErr.Code != "rate_limit_exceeded" {
		t.Fatalf("over the limit: %v", err)
	}
	// A revoked token authenticates nothing.
	tok2 := n.token(t, "default")
	id := strings.Split(tok2, "_")[1]
	if _, err := n.c.GatewayTokenRevoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	oc2 := n.openaiClient(t, tok2)
	if _, err := oc2.Models.List(ctx); !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("revoked: %v", err)
	}
	// The token file holds hashes only.
	b, err := os.ReadFile(filepath.Join(n.home, "gateway", "tokens.json"))
	if err != nil || strings.Contains(string(b), tok) || strings.Contains(string(b), tok2) {
		t.Fatalf("tokens.json holds a secret (%v)", err)
	}
	st, _ := os.Stat(filepath.Join(n.home, "gateway", "tokens.json"))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("tokens.json mode %v", st.Mode())
	}
}

// TestGatewaySSEWire reads the stream as bytes: keep-alive comments while
// the model thinks, then the chunks and the terminator.
func TestGatewaySSEWire(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	n := startGateway(t, "", llmtest.Options{OnRequest: func(llmtest.Request) {
		if calls.Add(1) == 1 {
			<-release // the model thinks until the client has seen a ping
		}
	}})
	tok := n.token(t, "default")
	body := `{"model":"weft/default","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	req, _ := http.NewRequest("POST", n.base+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	defer http.DefaultClient.CloseIdleConnections()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	var lines []string
	released := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		lines = append(lines, line)
		if line == ": ping" && !released {
			released = true
			close(release)
		}
	}
	if !released {
		close(release)
		t.Fatalf("no keep-alive: %q", lines)
	}
	if lines[len(lines)-1] != "data: [DONE]" {
		t.Fatalf("no terminator: %q", lines)
	}
	var text strings.Builder
	finish := ""
	for _, l := range lines {
		data, ok := strings.CutPrefix(l, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ch struct {
			Object  string `json:"object"`
			Choices []struct {
				Delta        struct{ Content string } `json:"delta"`
				FinishReason *string                  `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &ch); err != nil || ch.Object != "chat.completion.chunk" {
			t.Fatalf("chunk %q: %v", data, err)
		}
		for _, c := range ch.Choices {
			text.WriteString(c.Delta.Content)
			if c.FinishReason != nil {
				finish = *c.FinishReason
			}
		}
	}
	if text.String() != "hello from the agent" || finish != "stop" {
		t.Fatalf("text %q finish %q", text.String(), finish)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
}

// TestGatewayGovernanceDenies: a rule denying messages from the OpenAI
// endpoint is a 403 in OpenAI's shape, the agent never runs, and the
// denial is on the chain.
func TestGatewayGovernanceDenies(t *testing.T) {
	// A stream's first ping commits it to 200 (a deferred act may wait
	// minutes for a human, so pings start at once): with pings every 20 ms
	// a refusal slower than that on a loaded machine came as a streamed
	// error, not the 403 this test is about.
	n := startGateway(t, "keepalive = \"1m\"\n", llmtest.Options{})
	ctx := context.Background()
	rule := "[[rule]]\nid = \"no-openai\"\nbranch = \"executive\"\nseverity = \"blocking\"\noutcome = \"deny\"\n" +
		"[rule.when]\nactions = [\"channel.message\"]\ncontext = { channel = [\"openai\"] }\n"
	if _, err := n.c.GovAmend(ctx, apitype.AmendRequest{Text: rule}); err != nil {
		t.Fatal(err)
	}
	oc := n.openaiClient(t, n.token(t, "default"))
	_, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "weft/default",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 || apiErr.Type != "permission_error" || apiErr.Code != "denied" {
		t.Fatalf("denied: %v", err)
	}
	stream := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "weft/default",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	for stream.Next() {
	}
	if err := stream.Err(); !errors.As(err, &apiErr) || apiErr.StatusCode != 403 {
		t.Fatalf("denied stream: %v", err)
	}
	stream.Close()
	if len(n.llm.Requests()) != 0 || n.kinds(t)[governance.KindChannelMessage] != 0 {
		t.Fatal("a denied message reached the agent")
	}
}

// actsFor returns the tool.call outcomes and refusals naming tool.
func (n *gwNode) actsFor(t *testing.T, tool string) (calls, refusals int) {
	t.Helper()
	for seq := range n.d.chain.Len() {
		ev, err := n.d.chain.Get(seq)
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Kind {
		case governance.KindToolCall:
			var rec struct {
				Detail governance.ToolCallDetail `json:"detail"`
			}
			if json.Unmarshal(ev.Payload, &rec) == nil && rec.Detail.Tool == tool {
				calls++
			}
		case governance.KindRefusal:
			if strings.Contains(string(ev.Payload), `"tool":"`+tool+`"`) {
				refusals++
			}
		}
	}
	return calls, refusals
}
