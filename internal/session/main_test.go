package session

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// crashChildEnv, when set to a home directory, turns the test binary into
// the child of TestCrashRecovery: it appends steps to session "crash" until
// it is killed, printing each step's seq once Append has returned.
const crashChildEnv = "WEFTOS_SESSION_CRASH_CHILD_HOME"

func TestMain(m *testing.M) {
	if home := os.Getenv(crashChildEnv); home != "" {
		os.Exit(crashChild(home))
	}
	goleak.VerifyTestMain(m)
}

func crashChild(home string) int {
	s, err := Open(home, "crash")
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 3
	}
	ctx := context.Background()
	for seq := s.Resume().LastSeq + 1; ; seq++ {
		if _, err := s.Append(ctx, crashStep(seq)); err != nil {
			fmt.Fprintln(os.Stderr, "append:", err)
			return 4
		}
		if _, err := fmt.Fprintf(os.Stdout, "%d\n", seq); err != nil {
			return 5
		}
	}
}

// crashStep is the deterministic step number seq of the crash test: cycles
// of user message, model response asking for one tool call, the call
// started and completed, and a final answer. Sizes vary up to ~40 KiB so
// kills land in the middle of writes as well as between them.
func crashStep(seq uint64) Step { return cycleStep(seq, int(seq*7919%40000)) }

// cycleStep is step seq of the cycle with padLen bytes of padding.
func cycleStep(seq uint64, padLen int) Step {
	cycle := (seq - 1) / 5
	id := fmt.Sprintf("call-%d", cycle)
	pad := strings.Repeat(string(rune('a'+seq%26)), padLen)
	tc := ToolCall{ID: id, Name: "echo", Arguments: []byte(fmt.Sprintf(`{"n":%d}`, seq))}
	switch (seq - 1) % 5 {
	case 0:
		return UserMessage(fmt.Sprintf("question %d %s", seq, pad))
	case 1:
		return ModelResponse("fake/model", Message{Content: pad, ToolCalls: []ToolCall{tc}}, Usage{InputTokens: seq, OutputTokens: 1})
	case 2:
		return ToolCallStarted(ToolCall{ID: id, Name: "echo", Arguments: tc.Arguments})
	case 3:
		return ToolCallCompleted(ToolResult{ID: id, Name: "echo", Content: pad})
	default:
		return FinalAnswer(fmt.Sprintf("answer %d", seq))
	}
}
