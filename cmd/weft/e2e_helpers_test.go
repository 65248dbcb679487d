package main

import "github.com/weftos/weftos/internal/llm/llmtest"

// lastUser is the content of the last user message of a chat request.
func lastUser(r llmtest.Request) string {
	msgs, _ := r.Map()["messages"].([]any)
	for i := len(msgs) - 1; i >= 0; i-- {
		if m, _ := msgs[i].(map[string]any); m["role"] == "user" {
			s, _ := m["content"].(string)
			return s
		}
	}
	return ""
}

func countRole(msgs []any, role string) int {
	n := 0
	for _, m := range msgs {
		if mm, _ := m.(map[string]any); mm["role"] == role {
			n++
		}
	}
	return n
}
