package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/llm/llmtest"
)

// TestSessionsExportAndFork: a session exports as its journal, byte for
// byte, or as a Markdown transcript; a fork copies its first steps and
// goes on alone, and the source is untouched.
func TestSessionsExportAndFork(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	c := newWeft(t, srv)
	srv.Push(llmtest.Calls(llmtest.ToolCall{ID: "c1", Name: "read_file", Arguments: `{"path":"README.md"}`}), llmtest.Text("It is a demo."))
	if out, errs, code := c.run("agent", "--session", "orig", "-m", "What is README.md?"); code != 0 || !strings.Contains(out, "demo") {
		t.Fatalf("agent: %d %s %s", code, out, errs)
	}
	journal, errs, code := c.run("sessions", "export", "orig")
	if code != 0 {
		t.Fatalf("export: %d %s", code, errs)
	}
	stored, err := os.ReadFile(filepath.Join(c.home, "sessions", "orig", "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if journal != string(stored) {
		t.Fatalf("the exported journal differs from the stored one:\n%s\n---\n%s", journal, stored)
	}
	md, errs, code := c.run("sessions", "export", "orig", "--format", "markdown")
	for _, want := range []string{"# Session orig", "## User", "What is README.md?", "**Tool call** `read_file`", "WeftOS runs agents", "## Assistant", "It is a demo."} {
		if code != 0 || !strings.Contains(md, want) {
			t.Fatalf("markdown lacks %q (%d %s):\n%s", want, code, errs, md)
		}
	}
	if _, errs, code := c.run("sessions", "export", "orig", "--format", "pdf"); code != 2 || !strings.Contains(errs, "--format") {
		t.Fatalf("bad format: %d %s", code, errs)
	}

	// Fork after the first step (the user message) and answer it afresh.
	if out, errs, code := c.run("sessions", "fork", "orig", "branch", "--at", "1"); code != 0 || !strings.Contains(out, "1 steps") {
		t.Fatalf("fork: %d %s %s", code, out, errs)
	}
	if _, errs, code := c.run("sessions", "fork", "orig", "branch"); code != 1 || !strings.Contains(errs, "exists") {
		t.Fatalf("fork onto an existing session: %d %s", code, errs)
	}
	srv.Push(llmtest.Text("A different answer."))
	if out, errs, code := c.run("agent", "--session", "branch", "--resume"); code != 0 || !strings.Contains(out, "A different answer.") {
		t.Fatalf("continuing the fork: %d %s %s", code, out, errs)
	}
	after, _ := os.ReadFile(filepath.Join(c.home, "sessions", "orig", "journal.jsonl"))
	if string(after) != string(stored) {
		t.Fatal("forking changed the source session")
	}
}
