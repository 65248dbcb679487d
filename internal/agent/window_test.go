package agent

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/llm"
)

// randomConversation is a conversation as the loop and the session
// journal make them: runs that start with a user message (the first may
// not), assistant messages with tool calls of unique IDs, and results
// that follow their call in the same run — some never given (a crash, a
// cancel), some runs ended early.
func randomConversation(r *rand.Rand) []llm.Message {
	var msgs []llm.Message
	id := 0
	for run := range 1 + r.IntN(12) {
		if run > 0 || r.IntN(4) > 0 {
			msgs = append(msgs, llm.Message{Role: llm.RoleUser, Content: strings.Repeat("u", r.IntN(200))})
		}
		for range r.IntN(4) {
			var calls []llm.ToolCall
			for range r.IntN(4) {
				id++
				calls = append(calls, llm.ToolCall{ID: fmt.Sprintf("c%d", id), Name: "read", Arguments: []byte(strings.Repeat("a", r.IntN(60)))})
			}
			msgs = append(msgs, llm.Message{Role: llm.RoleAssistant, Content: strings.Repeat("x", r.IntN(120)), ToolCalls: calls})
			for _, i := range r.Perm(len(calls)) {
				if r.IntN(5) > 0 {
					msgs = append(msgs, llm.Message{Role: llm.RoleTool, ToolCallID: calls[i].ID, Content: strings.Repeat("r", r.IntN(300))})
				}
			}
		}
	}
	return msgs
}

// TestWindowMatchesTrimSanitize: window, walking back from the newest
// message, sends what trimming the sanitized whole conversation sends.
func TestWindowMatchesTrimSanitize(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for i := range 20000 {
		msgs := randomConversation(r)
		budget := r.IntN(1500)
		want, got := trim(sanitize(msgs), budget), window(msgs, budget)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d, budget %d:\n got %d messages %+v\nwant %d messages %+v", i, budget, len(got), got, len(want), want)
		}
	}
	if got := window(nil, 10); got == nil || len(got) != 0 {
		t.Fatalf("window of nothing = %#v, want an empty, non-nil slice", got)
	}
}

// BenchmarkWindow is a model call's cost of choosing what to send from a
// conversation of 2,000 messages of which the newest fit in the context.
func BenchmarkWindow(b *testing.B) {
	var msgs []llm.Message
	for i := range 500 {
		id := fmt.Sprintf("c%d", i)
		msgs = append(msgs, llm.Message{Role: llm.RoleUser, Content: "read it"},
			llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: id, Name: "read_file", Arguments: []byte(`{"path":"a.go"}`)}}},
			llm.Message{Role: llm.RoleTool, ToolCallID: id, Content: strings.Repeat("package a\n", 40)},
			llm.Message{Role: llm.RoleAssistant, Content: "It is package a."})
	}
	for _, tc := range []struct {
		name string
		f    func([]llm.Message, int) []llm.Message
	}{{"trim-sanitize", func(m []llm.Message, n int) []llm.Message { return trim(sanitize(m), n) }}, {"window", window}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tc.f(msgs, 32000)
			}
		})
	}
}

// The reference window: what the loop sent before window, sanitizing and
// trimming the whole conversation.

// sanitize is sanitizeRun over the whole conversation: what the loop
// sent before window, with the same rule applied once.
func sanitize(msgs []llm.Message) []llm.Message {
	out := make([]llm.Message, 0, len(msgs))
	sanitizeRun(msgs, map[string]bool{}, map[string]bool{}, func(m llm.Message) { out = append(out, m) })
	return out
}

// trim keeps the newest messages that fit in budget tokens. It cuts only
// at a user message, so tool calls are never separated from their results;
// the newest exchange is always kept whole.
func trim(msgs []llm.Message, budget int) []llm.Message {
	total := 0
	for _, m := range msgs {
		total += msgTokens(m)
	}
	start := 0
	for total > budget && start < len(msgs) {
		// Drop through to the next user message after start.
		next := start + 1
		for next < len(msgs) && msgs[next].Role != llm.RoleUser {
			next++
		}
		if next >= len(msgs) {
			break // only the newest exchange is left
		}
		for _, m := range msgs[start:next] {
			total -= msgTokens(m)
		}
		start = next
	}
	return msgs[start:]
}
