package tools_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/weftos/weftos/internal/tools"
)

// The agent loop's view of a call: describe the action, gate it, run it.
func Example() {
	ws, _ := os.MkdirTemp("", "ws")
	defer os.RemoveAll(ws)
	env, err := tools.OpenEnv(ws, tools.Policy{}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Close()

	reg := tools.Default()
	input := json.RawMessage(`{"path":"notes/todo.txt","content":"ship it\n"}`)
	tool, act, err := reg.Action(env, "write_file", input)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(act.Name, act.Tool, act.Path == filepath.Join(env.Workspace(), "notes", "todo.txt"))
	// … capability check and governance gate on act …
	out, err := tool.Run(context.Background(), env, input)
	fmt.Println(string(out), err)

	// Escapes are refused with a typed error the model can read.
	_, err = tool.Run(context.Background(), env, json.RawMessage(`{"path":"../../etc/passwd","content":"x"}`))
	fmt.Println(errors.Is(err, tools.ErrPathEscape))
	// Output:
	// fs.write write_file true
	// {"path":"notes/todo.txt","bytes":8,"created":true} <nil>
	// true
}

func ExampleValidateInput() {
	tool, _ := tools.Default().Get("read_file")
	err := tools.ValidateInput(tool, json.RawMessage(`{"path":"a.txt","offset":0,"mode":"fast"}`))
	fmt.Println(err)
	// Output:
	// read_file: invalid_input: input: unknown property "mode" (allowed: limit, offset, path); offset: must be >= 1
}

func ExampleParseSchema() {
	s, err := tools.ParseSchema([]byte(`{"type":"object","required":["n"],"properties":{"n":{"type":"integer","maximum":3}}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Validate([]byte(`{"n":2}`)))
	fmt.Println(s.Validate([]byte(`{"n":4}`)))
	// Output:
	// <nil>
	// n: must be <= 3
}

func ExampleErrorCode() {
	tool, _ := tools.Default().Get("shell_exec")
	ws, _ := os.MkdirTemp("", "ws")
	defer os.RemoveAll(ws)
	env, _ := tools.OpenEnv(ws, tools.Policy{}, nil) // shell is off by default
	defer env.Close()
	_, err := tool.Run(context.Background(), env, json.RawMessage(`{"command":"git","args":["status"]}`))
	fmt.Println(tools.ErrorCode(err))
	fmt.Println(err)
	// Output:
	// denied
	// shell_exec: denied: shell_exec is disabled by the tool policy
}
