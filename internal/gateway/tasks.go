package gateway

import (
	"encoding/json"
	"strings"
)

// taskAnswer answers the housekeeping requests chat front-ends such as
// Open WebUI send after each exchange — a title for the chat, tags,
// follow-up suggestions, search queries — which would otherwise cost a
// full agent turn (and land in the agent's session). It recognises them by
// their "### Task:" preamble and answers in the JSON shape they ask for.
func taskAnswer(text string) (string, bool) {
	t := strings.TrimSpace(text)
	if !strings.HasPrefix(t, "### Task:") {
		return "", false
	}
	task := strings.ToLower(firstLines(t, 3))
	var v any
	switch {
	case strings.Contains(task, "title"):
		v = map[string]string{"title": chatTitle(t)}
	case strings.Contains(task, "tags"):
		v = map[string][]string{"tags": {"General"}}
	case strings.Contains(task, "follow-up") || strings.Contains(task, "follow up"):
		v = map[string][]string{"follow_ups": {}}
	case strings.Contains(task, "queries") || strings.Contains(task, "query"):
		v = map[string][]string{"queries": {}}
	case strings.Contains(task, "emoji"):
		return "💬", true
	default:
		return "", false
	}
	b, _ := json.Marshal(v)
	return string(b), true
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// chatTitle makes a title from the first user message of the chat history
// quoted in a task prompt (<chat_history>…USER: text…</chat_history>).
func chatTitle(prompt string) string {
	h := prompt
	if _, after, ok := strings.Cut(prompt, "<chat_history>"); ok {
		h, _, _ = strings.Cut(after, "</chat_history>")
	}
	for line := range strings.SplitSeq(h, "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "USER:"); ok {
			words := strings.Fields(rest)
			if len(words) == 0 {
				continue
			}
			if len(words) > 5 {
				words = words[:5]
			}
			return strings.Trim(strings.Join(words, " "), ".,;:!?")
		}
	}
	return "New chat"
}
