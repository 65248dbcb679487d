package channels

import (
	"context"
	"crypto/sha3"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/llm"
)

// Runner runs one agent turn, handing its events to emit in order, as the
// local API's POST /v1/agent/run streams them. It returns an error only
// when the run could not start (no such agent, no provider); failures
// after the start are RunError events. The daemon implements it.
type Runner interface {
	Run(ctx context.Context, req apitype.RunRequest, emit func(apitype.RunEvent) error) error
}

// Message is one inbound message on its way to an agent.
type Message struct {
	// Channel names where it came from: a configured chat channel, or the
	// gateway's "openai", "ws" and "hook.NAME".
	Channel string
	// Sender identifies who sent it on that channel (a platform user id, a
	// gateway token id and its user); SenderName is for display.
	Sender     string
	SenderName string
	// Peer is the direct-message peer, Group the group chat ("" for a DM).
	Peer  string
	Group string
	// Agent and Session are where it goes.
	Agent   string
	Session string
	Text    string
	// Untrusted delimits Text as untrusted content (chat apps, webhooks).
	Untrusted bool
	// Once stops the session's agent process after the reply.
	Once bool
	// Attachments are received into the workspace (within Media's caps)
	// once the message is permitted, before the agent runs.
	Attachments []Attachment
	Media       MediaPolicy
}

// Reply is the agent's answer to a message.
type Reply struct {
	Answer   string
	Usage    llm.Usage
	Turns    int
	ActionID string
}

// RunError is a run that failed after it started: the run's error code
// (apitype codes, "max_turns", "cancelled", …) and message.
type RunError struct {
	Code    string
	Message string
}

func (e *RunError) Error() string { return e.Code + ": " + e.Message }

// Hub runs the exchange every inbound message goes through: described,
// decided by governance (the decision, naming the sender, channel, agent
// and a hash of the text, is on the chain before the agent sees
// anything), run, and its outcome recorded with a hash of the reply.
type Hub struct {
	Auth      *authority.Pipeline
	Runner    Runner
	Workspace string
}

// Exchange delivers m to its agent and returns the reply; emit, when not
// nil, receives the run's events as they happen (deltas, tool calls),
// except the final answer and the run's error: those are Exchange's
// result, returned once the reply's record is on the chain.
// A refusal (governance, the chain) is an error wrapping
// authority.ErrRefused; a failed run is a *RunError.
func (h *Hub) Exchange(ctx context.Context, m Message, emit func(apitype.RunEvent) error) (Reply, error) {
	inHash := Hash(m.Text)
	act := authority.Act{Action: "channel.message", Kind: governance.KindChannelMessage, Source: "channels",
		Subject: authority.Subject{Agent: "sender:" + m.Channel + "/" + m.Sender, Process: "channel." + m.Channel, Session: m.Session},
		Context: governance.Context{Extra: map[string]string{"channel": m.Channel, "sender": m.Sender, "agent": m.Agent,
			"session": m.Session, "peer": m.Peer, "group": m.Group, "inbound_hash": inHash, "untrusted": fmt.Sprint(m.Untrusted),
			"attachments": fmt.Sprint(len(m.Attachments))}}}
	if !ValidSession(m.Session) {
		return Reply{}, h.Auth.Refuse(ctx, act, fmt.Errorf("%w: session name %q", authority.ErrInput, m.Session))
	}
	pm, err := h.Auth.Authorize(ctx, act)
	if err != nil {
		return Reply{}, err
	}
	text := m.Text
	var atts []governance.AttachmentRecord
	if len(m.Attachments) > 0 {
		var note string
		note, atts = h.receive(ctx, m.Session, m.Attachments, m.Media)
		text += note
	}
	if m.Untrusted {
		src := m.Channel + " sender " + m.Sender
		if m.SenderName != "" {
			src += " (" + m.SenderName + ")"
		}
		text = Untrusted(src, text)
	}
	req := apitype.RunRequest{Agent: m.Agent, Session: m.Session, Workspace: h.Workspace, Message: text, Once: m.Once}
	var rep Reply
	var runErr error
	err = h.Runner.Run(ctx, req, func(ev apitype.RunEvent) error {
		switch ev.Type {
		case apitype.RunFinal:
			rep.Answer, rep.Usage, rep.Turns = ev.Answer, llm.Usage(ev.Usage), ev.Turns
			return nil
		case apitype.RunError:
			runErr = &RunError{Code: ev.Code, Message: ev.Message}
			return nil
		}
		if emit != nil {
			return emit(ev)
		}
		return nil
	})
	if err == nil {
		err = runErr
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	rep.ActionID = pm.ActionID()
	det := governance.ChannelMessageDetail{Channel: m.Channel, Sender: m.Sender, Peer: m.Peer, Group: m.Group, Agent: m.Agent,
		Session: m.Session, InboundHash: inHash, InboundLen: len(m.Text), Attachments: atts}
	if err == nil {
		det.OutboundHash, det.OutboundLen = Hash(rep.Answer), len(rep.Answer)
	}
	if rerr := pm.Done(ctx, det, err); rerr != nil {
		// The reply's record is not on the chain: do not deliver it.
		return Reply{}, errors.Join(err, rerr)
	}
	return rep, err
}

// Hash is the chain's content hash (SHAKE-256, 32 bytes, hex).
func Hash(s string) string {
	return hex.EncodeToString(sha3.SumSHAKE256([]byte(s), 32))
}

var sessionPartRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,24}$`)

// SessionName builds a session name from prefix (letters and digits) and
// parts: a part that is not a short name of safe characters is replaced by
// a hash of it, so any platform id or user string gives a valid, stable,
// distinct name.
func SessionName(prefix string, parts ...string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, p := range parts {
		b.WriteByte('.')
		if sessionPartRE.MatchString(p) {
			b.WriteString(p)
		} else {
			b.WriteString("h")
			b.WriteString(Hash(p)[:15])
		}
	}
	if b.Len() > 64 {
		return prefix + ".h" + Hash(b.String())[:24]
	}
	return b.String()
}

var safeIDRE = regexp.MustCompile(`^[A-Za-z0-9_.@:+-]{1,64}$`)

// SafeID returns s when it is a short identifier of safe characters, else
// a hash of it: client-chosen strings (an OpenAI request's user) become
// bounded, printable ids before they name anyone on the chain.
func SafeID(s string) string {
	if safeIDRE.MatchString(s) {
		return s
	}
	return "h" + Hash(s)[:15]
}

var sessionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidSession reports whether s can name a session.
func ValidSession(s string) bool { return sessionRE.MatchString(s) && !strings.Contains(s, "..") }
