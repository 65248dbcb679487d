//go:build !nollm

package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/agenthost"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// TestConversationAcrossTurns: a session agent keeps its conversation
// between turns (taking only the new messages from its session) and every
// model call sends the whole conversation so far — each turn's message and
// answer, a tool call and its result — and after a reset only what follows.
func TestConversationAcrossTurns(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{Handler: func(r llmtest.Request) llmtest.Turn {
		msgs := chatMessages(t, r)
		last := msgs[len(msgs)-1]
		switch {
		case last.Role == "user" && last.text() == "look":
			return llmtest.Calls(llmtest.ToolCall{ID: "look-1", Name: "list_dir", Arguments: `{"path":"."}`})
		case last.Role == "tool":
			return llmtest.Text("looked")
		}
		return llmtest.Text("answer to " + last.text())
	}})
	defer srv.Close()
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "k")
	t.Setenv("ANTHROPIC_API_KEY", "")
	d, err := Open(context.Background(), Options{Home: t.TempDir(), Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer closeD(t, d)
	ctx := context.Background()
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "a.txt"), []byte("a"), 0o600); err != nil {
		t.Fatal(err)
	}
	pid, err := d.agenthost.SessionAgent(ctx, RunRequest{Session: "talk", Workspace: ws, Model: "openai/m"})
	if err != nil {
		t.Fatal(err)
	}
	// roles lists a request's messages as role:content (a tool call as
	// assistant:call, its result as tool:result), the system prompt left out.
	roles := func(r llmtest.Request) string {
		t.Helper()
		var out []string
		for _, m := range chatMessages(t, r) {
			switch {
			case m.Role == "system":
			case len(m.ToolCalls) > 0:
				out = append(out, "assistant:call")
			case m.Role == "tool":
				out = append(out, "tool:result")
			default:
				out = append(out, m.Role+":"+m.text())
			}
		}
		return strings.Join(out, " ")
	}
	turn := func(msg, want string) {
		t.Helper()
		if _, err := ask(ctx, d, pid, msg); err != nil {
			t.Fatalf("%s: %v", msg, err)
		}
		reqs := srv.ChatRequests()
		if got := roles(reqs[len(reqs)-1]); got != want {
			t.Fatalf("after %q the model got\n %s\nwant\n %s", msg, got, want)
		}
	}
	turn("one", "user:one")
	turn("two", "user:one assistant:answer to one user:two")
	turn("look", "user:one assistant:answer to one user:two assistant:answer to two user:look assistant:call tool:result")
	turn("three", "user:one assistant:answer to one user:two assistant:answer to two user:look assistant:call tool:result "+
		"assistant:looked user:three")
	body, _ := json.Marshal(agenthost.Request{Reset: true})
	if _, err := d.kernel.Request(ctx, &kernel.Envelope{From: kernel.KernelPID, Target: kernel.ToProcess(pid), Payload: kernel.JSONPayload(body)}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		want := ""
		for j := range i {
			want += fmt.Sprintf("user:after %d assistant:answer to after %d ", j, j)
		}
		turn(fmt.Sprintf("after %d", i), want+fmt.Sprintf("user:after %d", i))
	}
}

// chatMessage is a Chat Completions request's message, as the tests read it.
type chatMessage struct {
	Role      string            `json:"role"`
	Content   *string           `json:"content"`
	ToolCalls []json.RawMessage `json:"tool_calls"`
}

func (m chatMessage) text() string {
	if m.Content == nil {
		return ""
	}
	return *m.Content
}

// chatMessages decodes the messages of a chat request.
func chatMessages(t *testing.T, r llmtest.Request) []chatMessage {
	var body struct {
		Messages []chatMessage `json:"messages"`
	}
	if err := r.Decode(&body); err != nil || len(body.Messages) == 0 {
		t.Errorf("chat request without messages: %v", err)
		return []chatMessage{{}}
	}
	return body.Messages
}

// TestRunOutlastsRequestTimeout: an agent turn may take longer than
// [kernel] request_timeout (a slow model, a tool, an approval): the run
// waits for its answer. It used to fail at the bound (30 s by default)
// while the agent went on.
func TestRunOutlastsRequestTimeout(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{Latency: 400 * time.Millisecond,
		Handler: func(llmtest.Request) llmtest.Turn { return llmtest.Text("slow but sure") }})
	defer srv.Close()
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "k")
	t.Setenv("ANTHROPIC_API_KEY", "")
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "weftos.toml"), []byte("[kernel]\nrequest_timeout = \"50ms\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Open(context.Background(), Options{Home: home, Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer closeD(t, d)
	var answer strings.Builder
	var failure string
	err = d.runAgent(context.Background(), RunRequest{Session: "slow", Workspace: t.TempDir(), Model: "openai/m", Message: "take your time"},
		func(ev RunEvent) error {
			switch ev.Type {
			case apitype.RunDelta:
				answer.WriteString(ev.Text)
			case apitype.RunError:
				failure = ev.Code + ": " + ev.Message
			}
			return nil
		})
	if err != nil || failure != "" {
		t.Fatalf("run: %v %s", err, failure)
	}
	if answer.String() != "slow but sure" {
		t.Fatalf("answer %q", answer.String())
	}
	// A plain request still has the bound.
	pid, err := d.agenthost.SessionAgent(context.Background(), RunRequest{Session: "slow", Workspace: t.TempDir(), Model: "openai/m"})
	if err == nil {
		_, err = ask(context.Background(), d, pid, "again")
	}
	if !errors.Is(err, kernel.ErrDeadline) {
		t.Fatalf("a request without a deadline, slower than request_timeout: %v, want ErrDeadline", err)
	}
}
