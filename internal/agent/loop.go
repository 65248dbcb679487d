// Package agent is the clawft agent loop: each turn it assembles the
// context (system prompt, recalled memories, history trimmed to a token
// budget), calls the model, runs the tool calls the model asks for through a
// ToolRunner (which, in the daemon, checks capabilities, asks governance,
// executes and records on the chain), feeds the results back, and repeats
// until the model answers or the turn limit is reached.
//
// The loop owns no I/O of its own: the model, the tools, the journal of
// completed steps (for durable runs), token accounting and the audit
// observer are interfaces the caller supplies.
package agent

import (
	"context"
	"crypto/sha3"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/llm"
)

// Errors the loop ends with.
var (
	ErrMaxTurns  = errors.New("agent: turn limit reached before a final answer")
	ErrLoopGuard = errors.New("agent: loop guard: the same tool call was repeated")
	ErrBudget    = errors.New("agent: token budget exhausted")
)

// Model is what the loop needs from an LLM provider.
type Model interface {
	Chat(ctx context.Context, req *llm.Request, onDelta func(llm.Delta)) (*llm.Response, error)
}

// ToolRunner runs the model's tool calls. Run returns the output fed back to
// the model; isError marks a failed call (denied, invalid input, tool
// error), which the model sees and may recover from. An error return is
// fatal to the run (for example a cancelled context).
type ToolRunner interface {
	Specs() []llm.ToolSpec
	Run(ctx context.Context, call llm.ToolCall) (output string, isError bool, err error)
}

// Meter charges the tokens a model call used against the process's budget;
// an error ends the run.
type Meter interface {
	ChargeTokens(n uint64) error
}

// Observer is told about every model call (the daemon records it on the
// chain: model, token counts, hashes of prompt and reply).
type Observer interface {
	LLMCall(ctx context.Context, c LLMCall)
}

// LLMCall describes one model call for the audit chain.
type LLMCall struct {
	Model        string `json:"model"`
	Provider     string `json:"provider,omitempty"`
	InputTokens  int    `json:"input_tokens"`
	OutputTokens int    `json:"output_tokens"`
	PromptHash   string `json:"prompt_hash"`
	ReplyHash    string `json:"reply_hash"`
	ToolCalls    int    `json:"tool_calls"`
	StopReason   string `json:"stop_reason"`
}

// Journal persists each completed step, so a run killed between steps can
// resume without repeating them.
type Journal interface {
	Record(ctx context.Context, s Step) error
}

// StepType names a journal step.
type StepType string

// Step types.
const (
	StepUser      StepType = "user_message"
	StepModel     StepType = "model_response"
	StepToolStart StepType = "tool_call_started"
	StepToolDone  StepType = "tool_call_completed"
	StepFinal     StepType = "final_answer"
)

// Step is one completed step of a run.
type Step struct {
	Type    StepType      `json:"type"`
	Message *llm.Message  `json:"message,omitempty"` // user, model and tool-result messages
	Call    *llm.ToolCall `json:"call,omitempty"`
	Usage   *llm.Usage    `json:"usage,omitempty"`
}

// Config is an agent's configuration for a run.
type Config struct {
	// Model is the provider's model name (after registry resolution).
	Model  string
	System string
	// MaxTurns bounds model calls per run (default 20).
	MaxTurns int
	// MaxTokens caps each reply (0: the provider's default).
	MaxTokens int
	// ContextTokens bounds the history sent to the model, estimated at
	// four characters per token (default 32,000).
	ContextTokens int
	// RepeatLimit stops a run when the same tool is called with the same
	// arguments more than this many times (default 3; negative disables).
	RepeatLimit int
	// Recall, when set, returns memories relevant to the user's message;
	// they are added to the system prompt within the context budget.
	Recall func(ctx context.Context, query string) []string
}

// Deps are the loop's collaborators. Model and Tools are required.
type Deps struct {
	Model    Model
	Tools    ToolRunner
	Journal  Journal
	Meter    Meter
	Observer Observer
	// OnText receives streamed answer text as it arrives.
	OnText func(string)
}

// Result is the outcome of a run.
type Result struct {
	Answer   string
	Messages []llm.Message // the whole conversation after the run
	Usage    llm.Usage
	Turns    int
	// ModelTime is the time spent waiting for the model, so callers can
	// tell the loop's own overhead from the model's latency.
	ModelTime time.Duration
}

// Run continues the conversation history with the user's message (empty
// when resuming a run whose last message is already the user's or an
// unanswered tool call) and returns the final answer. done holds results of
// tool calls that completed before a crash, by call ID: they are not run
// again.
func Run(ctx context.Context, cfg Config, deps Deps, history []llm.Message, user string, done map[string]llm.Message) (Result, error) {
	if deps.Model == nil || deps.Tools == nil {
		return Result{}, errors.New("agent: Run needs a model and a tool runner")
	}
	if cfg.MaxTurns <= 0 {
		cfg.MaxTurns = 20
	}
	if cfg.ContextTokens <= 0 {
		cfg.ContextTokens = 32000
	}
	if cfg.RepeatLimit == 0 {
		cfg.RepeatLimit = 3
	}
	// A copy with room for the user's message and the reply: appending
	// them does not copy the conversation again.
	msgs := make([]llm.Message, len(history), len(history)+4)
	copy(msgs, history)
	res := Result{}
	if user != "" {
		msgs = append(msgs, llm.Message{Role: llm.RoleUser, Content: user})
	}
	if user != "" {
		m := msgs[len(msgs)-1]
		if err := journal(ctx, deps, Step{Type: StepUser, Message: &m}); err != nil {
			return res, err
		}
	}
	// Then recall (the journal buffers the user's message until the run's
	// next durable step: nothing to overlap it with).
	system := cfg.System
	if q := lastUser(msgs); cfg.Recall != nil && q != "" {
		system = withMemories(system, cfg.Recall(ctx, q), cfg.ContextTokens/4)
	}
	// The loop guard counts this run's calls: since the last user message,
	// so a resumed run's calls before the interruption count too, and
	// earlier turns' do not.
	repeats := map[string]int{}
	for _, m := range msgs[max(lastUserIndex(msgs), 0):] {
		for _, c := range m.ToolCalls {
			repeats[callKey(c)]++
		}
	}
	// A resumed run may end on an assistant message whose calls have not
	// all been answered: answer them first.
	if n := len(msgs); n > 0 && msgs[n-1].Role == llm.RoleAssistant && len(msgs[n-1].ToolCalls) > 0 {
		var err error
		if msgs, err = runCalls(ctx, deps, msgs, msgs[n-1].ToolCalls, done); err != nil {
			res.Messages = msgs
			return res, err
		}
	}
	for res.Turns < cfg.MaxTurns {
		res.Turns++
		req := &llm.Request{Model: cfg.Model, System: system, Messages: window(msgs, cfg.ContextTokens-estimate(system)),
			Tools: deps.Tools.Specs(), MaxTokens: cfg.MaxTokens}
		var onDelta func(llm.Delta)
		if deps.OnText != nil {
			onDelta = func(d llm.Delta) {
				if d.Kind == llm.DeltaText && d.Text != "" {
					deps.OnText(d.Text)
				}
			}
		}
		start := time.Now()
		resp, err := deps.Model.Chat(ctx, req, onDelta)
		res.ModelTime += time.Since(start)
		if err != nil {
			res.Messages = msgs
			return res, fmt.Errorf("agent: model: %w", err)
		}
		res.Usage = res.Usage.Add(resp.Usage)
		if deps.Observer != nil {
			deps.Observer.LLMCall(ctx, LLMCall{Model: cfg.Model, Provider: resp.Provider, InputTokens: resp.Usage.InputTokens,
				OutputTokens: resp.Usage.OutputTokens, PromptHash: hashJSON(req), ReplyHash: hashJSON(resp.Message),
				ToolCalls: len(resp.Message.ToolCalls), StopReason: string(resp.StopReason)})
		}
		reply := resp.Message
		reply.Role = llm.RoleAssistant
		msgs = append(msgs, reply)
		usage := resp.Usage
		if err := journal(ctx, deps, Step{Type: StepModel, Message: &reply, Usage: &usage}); err != nil {
			res.Messages = msgs
			return res, err
		}
		if deps.Meter != nil {
			if err := deps.Meter.ChargeTokens(uint64(resp.Usage.Total())); err != nil {
				res.Messages = msgs
				return res, fmt.Errorf("%w: %v", ErrBudget, err)
			}
		}
		if len(reply.ToolCalls) == 0 {
			res.Answer = reply.Content
			res.Messages = msgs
			return res, journal(ctx, deps, Step{Type: StepFinal, Message: &reply})
		}
		for _, c := range reply.ToolCalls {
			repeats[callKey(c)]++
			if cfg.RepeatLimit > 0 && repeats[callKey(c)] > cfg.RepeatLimit {
				res.Messages = msgs
				return res, fmt.Errorf("%w: %s with arguments %s, %d times (limit %d)", ErrLoopGuard, c.Name, compact(c.Arguments), repeats[callKey(c)], cfg.RepeatLimit)
			}
		}
		if msgs, err = runCalls(ctx, deps, msgs, reply.ToolCalls, done); err != nil {
			res.Messages = msgs
			return res, err
		}
	}
	res.Messages = msgs
	return res, fmt.Errorf("%w (%d turns)", ErrMaxTurns, cfg.MaxTurns)
}

// runCalls runs calls (skipping those already answered in msgs or done)
// and appends their results.
func runCalls(ctx context.Context, deps Deps, msgs []llm.Message, calls []llm.ToolCall, done map[string]llm.Message) ([]llm.Message, error) {
	answered := map[string]bool{}
	for _, m := range msgs {
		if m.Role == llm.RoleTool {
			answered[m.ToolCallID] = true
		}
	}
	for _, c := range calls {
		if answered[c.ID] {
			continue
		}
		if r, ok := done[c.ID]; ok {
			msgs = append(msgs, r)
			continue
		}
		call := c
		if err := journal(ctx, deps, Step{Type: StepToolStart, Call: &call}); err != nil {
			return msgs, err
		}
		out, isErr, err := deps.Tools.Run(ctx, c)
		if err != nil {
			return msgs, fmt.Errorf("agent: tool %s: %w", c.Name, err)
		}
		if isErr && !strings.HasPrefix(out, "error") {
			out = "error: " + out
		}
		m := llm.Message{Role: llm.RoleTool, ToolCallID: c.ID, Content: out, IsError: isErr}
		msgs = append(msgs, m)
		if err := journal(ctx, deps, Step{Type: StepToolDone, Call: &call, Message: &m}); err != nil {
			return msgs, err
		}
	}
	return msgs, nil
}

func journal(ctx context.Context, deps Deps, s Step) error {
	if deps.Journal == nil {
		return nil
	}
	if err := deps.Journal.Record(ctx, s); err != nil {
		return fmt.Errorf("agent: journal: %w", err)
	}
	return nil
}

func lastUser(msgs []llm.Message) string {
	if i := lastUserIndex(msgs); i >= 0 {
		return msgs[i].Content
	}
	return ""
}

// withMemories appends recalled memories to the system prompt, as many as
// fit in budget tokens.
func withMemories(system string, mems []string, budget int) string {
	if len(mems) == 0 {
		return system
	}
	var b strings.Builder
	b.WriteString(system)
	b.WriteString("\n\nRelevant memories (from earlier sessions):\n")
	used := estimate(b.String())
	for _, m := range mems {
		line := "- " + strings.ReplaceAll(strings.TrimSpace(m), "\n", " ") + "\n"
		if used+estimate(line) > budget {
			break
		}
		b.WriteString(line)
		used += estimate(line)
	}
	return b.String()
}

// estimate approximates tokens as four characters each.
func estimate(s string) int { return (len(s) + 3) / 4 }

func msgTokens(m llm.Message) int {
	n := estimate(m.Content) + 4
	for _, c := range m.ToolCalls {
		n += estimate(c.Name) + estimate(string(c.Arguments)) + 4
	}
	return n
}

// lastUserIndex is the index of the last user message (where the run
// that continues msgs began), -1 when there is none.
func lastUserIndex(msgs []llm.Message) int {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == llm.RoleUser {
			return i
		}
	}
	return -1
}

func callKey(c llm.ToolCall) string { return c.Name + "\x00" + compact(c.Arguments) }

// compact normalises JSON arguments so that formatting differences do not
// hide a repeated call.
func compact(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func hashJSON(v any) string {
	b, _ := json.Marshal(v)
	return hex.EncodeToString(sha3.SumSHAKE256(b, 32))
}
