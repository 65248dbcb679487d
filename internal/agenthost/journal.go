package agenthost

import (
	"context"
	"errors"
	"fmt"

	"github.com/weftos/weftos/internal/agent"
	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/session"
)

// sessionJournal adapts a durable session (internal/session) to the agent
// loop's Journal: every completed step is durable before the loop goes on
// (group-committed with the other sessions' steps by h.journals).
type sessionJournal struct {
	h *Host
	s *session.Session
	// The conversation as the agent loop takes it, kept between turns and
	// brought up to date from the session (Conversation): a turn converts
	// what is new, not the whole conversation.
	conv  []llm.Message
	epoch uint64
}

var _ agent.Journal = (*sessionJournal)(nil)

func (h *Host) openJournal(name string) (*sessionJournal, error) {
	s, err := session.Open(h.home, name, session.WithLogger(h.log.With("layer", "session")), session.WithCommitter(h.journals))
	if err != nil {
		return nil, err
	}
	if r := s.Recovered(); r.TornBytes > 0 {
		h.log.Warn("session journal: truncated a torn final line left by a crash", "session", name, "bytes", r.TornBytes)
	}
	return &sessionJournal{h: h, s: s}, nil
}

func (j *sessionJournal) Close() error { return j.s.Close() }

// Record implements agent.Journal.
func (j *sessionJournal) Record(ctx context.Context, st agent.Step) error {
	var step session.Step
	switch st.Type {
	case agent.StepUser:
		step = session.UserMessage(st.Message.Content)
	case agent.StepModel:
		var u session.Usage
		if st.Usage != nil {
			u = session.Usage{InputTokens: uint64(st.Usage.InputTokens), OutputTokens: uint64(st.Usage.OutputTokens)}
		}
		step = session.ModelResponse("", toSessionMessage(*st.Message), u)
	case agent.StepToolStart:
		step = session.ToolCallStarted(session.ToolCall{ID: st.Call.ID, Name: st.Call.Name, Arguments: st.Call.Arguments})
	case agent.StepToolDone:
		step = session.ToolCallCompleted(session.ToolResult{ID: st.Call.ID, Name: st.Call.Name, Content: st.Message.Content, IsError: st.Message.IsError})
	case agent.StepFinal:
		step = session.FinalAnswer(st.Message.Content)
	default:
		return fmt.Errorf("daemon: unknown agent step %q", st.Type)
	}
	if st.Type == agent.StepFinal {
		// The answer goes to the client once both the journal and the
		// chain (the carried outcome of the last model call) have it:
		// write them at the same time.
		flushed := make(chan error, 1)
		go func() { flushed <- CarryFrom(ctx).Flush(ctx) }()
		_, err := j.s.Append(ctx, step)
		return errors.Join(err, <-flushed)
	}
	if st.Type == agent.StepUser {
		// The user's message becomes durable with the run's next durable
		// step (a tool call starting, or the answer): until then nothing
		// was done on its behalf that a resume would need, and the client
		// has had no answer. It saves an fsync per turn.
		_, err := j.s.AppendBuffered(ctx, step)
		return err
	}
	if st.Type == agent.StepModel && len(st.Message.ToolCalls) == 0 {
		// A final reply is followed at once by the final-answer step; one
		// fsync covers both. If a crash loses it, a resume asks the model
		// again — no side effect is repeated.
		_, err := j.s.AppendBuffered(ctx, step)
		return err
	}
	_, err := j.s.Append(ctx, step)
	return err
}

// fail records that the run ended with an error.
func (j *sessionJournal) fail(ctx context.Context, code, msg string) {
	if _, err := j.s.Append(ctx, session.Error(code, msg)); err != nil {
		j.h.log.Warn("session journal", "err", err)
	}
}

// history returns the conversation so far (the journal's own copy: the
// caller must not change it) and, for a run that stopped before its final
// answer (interrupted), the results of its tool calls that completed.
func (j *sessionJournal) history() (msgs []llm.Message, done map[string]llm.Message, interrupted bool) {
	tail, from, epoch, status := j.s.Conversation(j.epoch, len(j.conv))
	j.conv, j.epoch = j.conv[:from], epoch
	for _, m := range tail {
		j.conv = append(j.conv, fromSessionMessage(m))
	}
	if status != session.StatusInProgress {
		return j.conv, nil, false
	}
	st := j.s.Resume()
	done = make(map[string]llm.Message, len(st.Completed))
	for id, r := range st.Completed {
		done[id] = llm.Message{Role: llm.RoleTool, ToolCallID: id, Content: r.Content, IsError: r.IsError}
	}
	return j.conv, done, true
}

func toSessionMessage(m llm.Message) session.Message {
	out := session.Message{Role: string(m.Role), Content: m.Content, ToolCallID: m.ToolCallID}
	for _, c := range m.ToolCalls {
		out.ToolCalls = append(out.ToolCalls, session.ToolCall{ID: c.ID, Name: c.Name, Arguments: c.Arguments})
	}
	return out
}

func fromSessionMessage(m session.Message) llm.Message {
	out := llm.Message{Role: llm.Role(m.Role), Content: m.Content, ToolCallID: m.ToolCallID}
	for _, c := range m.ToolCalls {
		out.ToolCalls = append(out.ToolCalls, llm.ToolCall{ID: c.ID, Name: c.Name, Arguments: c.Arguments})
	}
	return out
}
