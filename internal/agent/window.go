package agent

import "github.com/weftos/weftos/internal/llm"

// window is the part of the conversation a model call sends:
// trim(sanitize(msgs), budget), computed from the newest messages back,
// so that a call costs what it sends rather than the conversation's whole
// length (a session may hold thousands of messages; a call sends what
// fits in the context).
//
// The conversation is cut into runs at user messages, as trim cuts it. A
// run's tool results follow its assistant messages before the next user
// message, and tool call IDs are unique in a conversation (the session
// journal refuses repeats), so sanitizing each run on its own drops what
// sanitizing the whole conversation drops. TestWindowMatchesTrimSanitize
// checks the two against each other.
func window(msgs []llm.Message, budget int) []llm.Message {
	var (
		answered = map[string]bool{}
		dropped  = map[string]bool{}
		first    = len(msgs) // the first kept run's first index
		total    int
	)
	for end := len(msgs); end > 0; {
		start := end - 1
		for start > 0 && msgs[start].Role != llm.RoleUser {
			start--
		}
		n := 0
		sanitizeRun(msgs[start:end], answered, dropped, func(m llm.Message) { n += msgTokens(m) })
		if first < len(msgs) && total+n > budget {
			break // the newest run is kept whole, whatever its size
		}
		total += n
		first, end = start, start
	}
	// Then the kept runs' surviving messages, in order.
	out := make([]llm.Message, 0, len(msgs)-first)
	for start := first; start < len(msgs); {
		end := start + 1
		for end < len(msgs) && msgs[end].Role != llm.RoleUser {
			end++
		}
		sanitizeRun(msgs[start:end], answered, dropped, func(m llm.Message) { out = append(out, m) })
		start = end
	}
	return out // never nil: the prompt hash encodes nil as null
}

// sanitizeRun calls keep with each message of one run that sanitize keeps:
// an assistant message whose tool calls were all answered in the run, and
// every other message but the results of calls it drops. answered and
// dropped are scratch space, cleared here.
func sanitizeRun(run []llm.Message, answered, dropped map[string]bool, keep func(llm.Message)) {
	clear(answered)
	clear(dropped)
	for _, m := range run {
		if m.Role == llm.RoleTool {
			answered[m.ToolCallID] = true
		}
	}
	for _, m := range run {
		if m.Role == llm.RoleAssistant && len(m.ToolCalls) > 0 {
			complete := true
			for _, c := range m.ToolCalls {
				complete = complete && answered[c.ID]
			}
			if !complete {
				for _, c := range m.ToolCalls {
					dropped[c.ID] = true
				}
				continue
			}
		}
		if m.Role == llm.RoleTool && dropped[m.ToolCallID] {
			continue
		}
		keep(m)
	}
}
