package session_test

import (
	"context"
	"fmt"
	"os"

	"github.com/weftos/weftos/internal/session"
)

func Example() {
	home, err := os.MkdirTemp("", "weftos-home-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(home)
	ctx := context.Background()

	// A run that is interrupted while a tool call is in flight.
	s, err := session.Open(home, "work")
	if err != nil {
		fmt.Println(err)
		return
	}
	read := session.ToolCall{ID: "call_1", Name: "read_file", Arguments: []byte(`{"path":"README.md"}`)}
	list := session.ToolCall{ID: "call_2", Name: "list_dir", Arguments: []byte(`{"path":"."}`)}
	for _, step := range []session.Step{
		session.UserMessage("Summarise README.md"),
		session.ModelResponse("openai/gpt-4o", session.Message{ToolCalls: []session.ToolCall{read, list}}, session.Usage{InputTokens: 12, OutputTokens: 7}),
		session.ToolCallStarted(read),
		session.ToolCallCompleted(session.ToolResult{ID: "call_1", Name: "read_file", Content: "# WeftOS"}),
		session.ToolCallStarted(list),
	} {
		if _, err := s.Append(ctx, step); err != nil {
			fmt.Println(err)
			return
		}
	}
	s.Close() // as if the process had been killed here

	// Resuming: completed calls are reused, never run again.
	s, err = session.Open(home, "work")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	st := s.Resume()
	fmt.Println("messages:", len(st.Messages))
	fmt.Println("completed:", st.Completed["call_1"].Content)
	fmt.Println("pending:", st.Pending[0].Name)
	fmt.Println("status:", st.Status)

	sums, _ := session.List(home)
	fmt.Println(sums[0].Name, sums[0].Steps, sums[0].Status)
	// Output:
	// messages: 3
	// completed: # WeftOS
	// pending: list_dir
	// status: in_progress
	// work 5 in_progress
}
