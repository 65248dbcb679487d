package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/llm/llmtest"
)

// TestMaxTurnsPrecedence: a run's turn limit is --max-turns when given,
// else the agent definition's max_turns when it sets one, else
// agents.max_turns in weftos.toml (which the definitions' built-in limit
// once overrode), else the default. A model that never stops asking for
// tools is cut off after exactly that many calls, and the run fails.
func TestMaxTurnsPrecedence(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{Handler: func(r llmtest.Request) llmtest.Turn {
		// A different call each time: the loop guard (same request three
		// times) must not be what ends the run.
		msgs, _ := r.Map()["messages"].([]any)
		return llmtest.Calls(llmtest.ToolCall{ID: "c" + strconv.Itoa(len(msgs)), Name: "list_dir", Arguments: `{"path":"dir` + strconv.Itoa(len(msgs)) + `"}`})
	}})
	defer srv.Close()
	c := newWeft(t, srv)
	writeFile(t, filepath.Join(c.home, "weftos.toml"), "[agents]\nmax_turns = 3\n")
	writeFile(t, filepath.Join(c.home, "agents", "capped.yaml"), "name: capped\nsystem_prompt: x\nmax_turns: 2\ncapabilities:\n  can_exec_tools: true\n")
	writeFile(t, filepath.Join(c.home, "agents", "uncapped.yaml"), "name: uncapped\nsystem_prompt: x\ncapabilities:\n  can_exec_tools: true\n")
	cases := []struct {
		name  string
		args  []string
		calls int
	}{
		{"the config's", []string{"--session", "s1"}, 3},
		{"a definition without max_turns: the config's", []string{"--agent", "uncapped", "--session", "s2"}, 3},
		{"the definition's over the config's", []string{"--agent", "capped", "--session", "s3"}, 2},
		{"the flag's over the definition's", []string{"--agent", "capped", "--max-turns", "1", "--session", "s4"}, 1},
		{"the flag's over the config's", []string{"--max-turns", "4", "--session", "s5"}, 4},
	}
	for _, tc := range cases {
		before := len(srv.ChatRequests())
		out, errs, code := c.run(append([]string{"agent", "-m", "go", "--model", "openai/m"}, tc.args...)...)
		calls := len(srv.ChatRequests()) - before
		if code != 1 || calls != tc.calls || !strings.Contains(errs, "turn limit") || !strings.Contains(errs, "("+strconv.Itoa(tc.calls)+" turns)") {
			t.Errorf("%s: exit %d after %d model calls (want 1 after %d)\nstdout %q\nstderr %s", tc.name, code, calls, tc.calls, out, errs)
		}
	}
}
