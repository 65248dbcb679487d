package skills_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/weftos/weftos/internal/skills"
)

func ExampleParse() {
	s, err := skills.Parse("skills/changelog/SKILL.md", "changelog", []byte(`---
name: changelog
description: Write a changelog entry from the staged diff.
allowed-tools: read_file, shell_exec
---
Read the diff, then write one line per change.
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Name, s.AllowedTools)
	fmt.Print(skills.Prompt([]skills.Skill{s}))
	// Output:
	// changelog [read_file shell_exec]
	// # Skills
	//
	// The following skills are available. When a task matches a skill's description, follow its instructions.
	//
	// <skill name="changelog" description="Write a changelog entry from the staged diff." allowed-tools="read_file, shell_exec">
	// Read the diff, then write one line per change.
	// </skill>
}

func ExampleList() {
	workspace, err := os.MkdirTemp("", "weftos-ws-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(workspace)
	dir := filepath.Join(workspace, "skills", "changelog")
	_ = os.MkdirAll(dir, 0o755)
	_ = os.WriteFile(filepath.Join(dir, skills.FileName), []byte("---\ndescription: Write changelog entries.\n---\nSteps...\n"), 0o644)

	list, errs := skills.List(workspace) // pass the workspace, then the home
	for _, s := range list {
		fmt.Println(s.Name+":", s.Description)
	}
	fmt.Println(len(errs), "errors")
	// Output:
	// changelog: Write changelog entries.
	// 0 errors
}
