package agentdef_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/weftos/weftos/internal/agentdef"
)

func ExampleParse() {
	d, err := agentdef.Parse("agents/reviewer.yaml", []byte(`
description: Reviews diffs.
model: openai/gpt-4o
tools: [read_file]
max_turns: 10
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Name, d.Model, d.Tools, d.MaxTurns)

	_, err = agentdef.Parse("agents/bad.yaml", []byte("name: bad\nmax_turn: 10\n"))
	fmt.Println(err)
	// Output:
	// reviewer openai/gpt-4o [read_file] 10
	// agents/bad.yaml:2: max_turn: unknown field (known: name, description, model, system_prompt, tools, skills, max_turns, capabilities, services, restart, supervisor, mcp_servers)
}

func ExampleFind() {
	workspace, err1 := os.MkdirTemp("", "weftos-ws-")
	home, err2 := os.MkdirTemp("", "weftos-home-")
	if err1 != nil || err2 != nil {
		fmt.Println(err1, err2)
		return
	}
	defer os.RemoveAll(workspace)
	defer os.RemoveAll(home)
	for dir, desc := range map[string]string{workspace: "workspace copy", home: "home copy"} {
		_ = os.MkdirAll(filepath.Join(dir, "agents"), 0o755)
		_ = os.WriteFile(filepath.Join(dir, "agents", "reviewer.yaml"), []byte("description: "+desc+"\n"), 0o644)
	}
	d, err := agentdef.Find("reviewer", workspace, home)
	fmt.Println(d.Description, err)
	d, err = agentdef.Find("default", workspace, home)
	fmt.Println(d.Name, d.Source == "", err)
	_, err = agentdef.Find("nobody", workspace, home)
	fmt.Println(errors.Is(err, agentdef.ErrNotFound))
	// Output:
	// workspace copy <nil>
	// default true <nil>
	// true
}
