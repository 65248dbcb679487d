package apitype

import (
	"time"

	"github.com/weftos/weftos/internal/session"
)

// RunRequest is the body of POST /v1/agent/run: one user message to a
// session's agent, a resume of its interrupted run, or a reset of its
// conversation.
type RunRequest struct {
	Agent     string `json:"agent,omitempty"`
	Model     string `json:"model,omitempty"`
	Session   string `json:"session"`
	Workspace string `json:"workspace"`
	Message   string `json:"message,omitempty"`
	Resume    bool   `json:"resume,omitempty"`
	Reset     bool   `json:"reset,omitempty"`
	// Once stops the session's agent process after this run (a one-shot
	// `weft agent -m`); otherwise it stays for the session's next message
	// until it has been idle for agents.idle_timeout.
	Once bool `json:"once,omitempty"`
	// MaxTurns bounds this run's model calls (1..1000, `weft agent
	// --max-turns`); 0 leaves the limit to the agent definition's
	// max_turns, else agents.max_turns in weftos.toml.
	MaxTurns int `json:"max_turns,omitempty"`
}

// Run event types, in the order a client sees them.
const (
	RunStart      = "start"       // the agent process serving the run (PID)
	RunDelta      = "delta"       // answer text as it streams (Turn numbers the model call)
	RunToolCall   = "tool_call"   // the model asked for a tool call
	RunToolResult = "tool_result" // the tool call ended (OK, Summary)
	RunApproval   = "approval"    // an act waits for a human: weave gov approve ActionID
	RunFinal      = "final"       // the answer
	RunError      = "error"       // the run failed (Code, Message)
)

// Usage is the tokens a run used, as its model reported them (the wire
// form of llm.Usage, whose fields it has: convert with Usage(u)).
type Usage struct {
	// InputTokens counts uncached prompt tokens.
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
	// CacheReadTokens are prompt tokens served from the vendor's prompt
	// cache; CacheWriteTokens are those written to it.
	CacheReadTokens  int `json:"cache_read_tokens,omitempty"`
	CacheWriteTokens int `json:"cache_write_tokens,omitempty"`
}

// Total is every token counted.
func (u Usage) Total() int {
	return u.InputTokens + u.OutputTokens + u.CacheReadTokens + u.CacheWriteTokens
}

// RunEvent is one line of the /v1/agent/run stream. Nothing is dropped:
// the daemon applies backpressure when the client reads slowly, and the
// text of the last turn's deltas equals the final answer.
type RunEvent struct {
	Type   string `json:"type"`
	PID    uint64 `json:"pid,omitempty"`
	Turn   int    `json:"turn,omitempty"`
	Text   string `json:"text,omitempty"`
	Answer string `json:"answer,omitempty"`
	// AnswerID (final events) is the answer's universal id when ECC linked
	// it to the memories recalled for it: `weave ecc why ID` shows them.
	AnswerID string `json:"answer_id,omitempty"`
	Usage    Usage  `json:"usage,omitzero"`
	Turns    int    `json:"turns,omitempty"`
	Code     string `json:"code,omitempty"`
	Message  string `json:"message,omitempty"`
	// Tool calls and results.
	Tool    string `json:"tool,omitempty"`
	CallID  string `json:"call_id,omitempty"`
	Args    string `json:"args,omitempty"` // shortened arguments
	OK      *bool  `json:"ok,omitempty"`
	Summary string `json:"summary,omitempty"` // shortened result
	// Approvals.
	ActionID string `json:"action_id,omitempty"`
	Action   string `json:"action,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// Model is one model a provider serves: GET /v1/models lists them.
type Model struct {
	ID          string    `json:"id"`
	Provider    string    `json:"provider"`
	DisplayName string    `json:"display_name,omitempty"`
	OwnedBy     string    `json:"owned_by,omitempty"`
	Created     time.Time `json:"created,omitzero"`
	// Default marks the model a run uses when it names none.
	Default bool `json:"default,omitempty"`
}

// ProviderProblem is a provider that could not list its models.
type ProviderProblem struct {
	Provider string `json:"provider"`
	Code     string `json:"code"`
	Message  string `json:"message"`
}

// ModelsResponse answers GET /v1/models[?provider=]: the models of every
// provider that answered, and what went wrong with the others.
type ModelsResponse struct {
	Models   []Model           `json:"models"`
	Problems []ProviderProblem `json:"problems,omitempty"`
}

// Skill is one skill visible to agents.
type Skill struct {
	Name         string   `json:"name"`
	Description  string   `json:"description"`
	AllowedTools []string `json:"allowed_tools,omitempty"`
	Path         string   `json:"path"`
	Unknown      []string `json:"unknown_keys,omitempty"`
}

// SkillsResponse answers GET /v1/skills?workspace=.
type SkillsResponse struct {
	Skills   []Skill  `json:"skills"`
	Problems []string `json:"problems,omitempty"`
}

// AgentTool is one tool an agent would be offered: GET
// /v1/agent/tools?workspace=&agent=.
type AgentTool struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Sessions.
type (
	// SessionSummary is one session in GET /v1/sessions.
	SessionSummary = session.Summary
	// SessionSnapshot answers GET /v1/sessions/{name}.
	SessionSnapshot = session.Snapshot
)

// SessionsResponse answers GET /v1/sessions.
type SessionsResponse struct {
	Sessions []SessionSummary `json:"sessions"`
	Problems []string         `json:"problems,omitempty"`
}

// SessionRemoveResponse answers DELETE /v1/sessions/{name}.
type SessionRemoveResponse struct {
	Removed string `json:"removed"`
}

// SessionForkRequest is the body of POST /v1/sessions/{name}/fork: a new
// session To with the first UpTo steps (0: all) of the named one. It
// answers the new session's SessionSummary.
type SessionForkRequest struct {
	To   string `json:"to"`
	UpTo uint64 `json:"up_to,omitempty"`
}
