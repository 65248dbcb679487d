package session

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// crashChildEnv, when set to a home directory, turns the test binary into
// the child of TestCrashRecovery: it appends steps to session "crash" until
// it is killed, printing each step's seq once Append has returned.
const crashChildEnv = "WEFTOS_SESSION_CRASH_CHILD_HOME"

// crashCommitEnv, when set with crashChildEnv, makes the child append to
// crashSessions sessions at once through a Committer, printing "NAME SEQ"
// for each durable step once Append has returned.
const crashCommitEnv = "WEFTOS_SESSION_CRASH_CHILD_COMMIT"

// crashSessions are the sessions of the group-committed crash test.
var crashSessions = []string{"c0", "c1", "c2", "c3", "c4", "c5"}

func TestMain(m *testing.M) {
	if home := os.Getenv(crashChildEnv); home != "" {
		if os.Getenv(crashCommitEnv) != "" {
			os.Exit(crashCommitChild(home))
		}
		os.Exit(crashChild(home))
	}
	goleak.VerifyTestMain(m)
}

func crashCommitChild(home string) int {
	c, err := OpenCommitter(context.Background(), home, WithCommitLogSize(64<<10))
	if err != nil {
		fmt.Fprintln(os.Stderr, "committer:", err)
		return 3
	}
	var mu sync.Mutex
	fail := make(chan int, len(crashSessions))
	for _, name := range crashSessions {
		go func() {
			s, err := Open(home, name, WithCommitter(c))
			if err != nil {
				fmt.Fprintln(os.Stderr, "open:", err)
				fail <- 3
				return
			}
			for seq := s.Resume().LastSeq + 1; ; seq++ {
				// Model responses are buffered, as the daemon does when
				// the final answer follows: acknowledged with the next step.
				buffered := (seq-1)%5 == 1
				var err error
				if buffered {
					_, err = s.AppendBuffered(context.Background(), crashStep(seq))
				} else {
					_, err = s.Append(context.Background(), crashStep(seq))
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					fail <- 4
					return
				}
				if !buffered {
					mu.Lock()
					_, err := fmt.Fprintf(os.Stdout, "%s %d\n", name, seq)
					mu.Unlock()
					if err != nil {
						fail <- 5
						return
					}
				}
			}
		}()
	}
	return <-fail
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

// stepsOf is s.Steps(), failing the test on an error.
func stepsOf(t testing.TB, s *Session) []Step {
	t.Helper()
	steps, err := s.Steps()
	if err != nil {
		t.Fatal(err)
	}
	return steps
}
