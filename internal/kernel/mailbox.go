package kernel

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
)

// MailboxKind is the kind name of the built-in mailbox process.
const MailboxKind = "mailbox"

// MailboxArgs configure a mailbox process.
type MailboxArgs struct {
	// Keep is how many recent messages the mailbox keeps for inspection
	// (default 64, at most 4096).
	Keep int `json:"keep,omitempty"`
	// Topics the mailbox subscribes to at start.
	Topics []string `json:"topics,omitempty"`
}

// NewMailbox is the KindFunc of the built-in "mailbox" kind: a process that
// receives messages, keeps the most recent ones for `agent inspect`, answers
// pings (through Receive) and requests (with a JSON acknowledgement naming
// the message it got), and exits on Shutdown. It is the addressable endpoint
// an operator or a cron job posts to before agent processes exist.
func NewMailbox(args json.RawMessage) (Handler, error) {
	var a MailboxArgs
	if len(args) > 0 && string(args) != "null" {
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, fmt.Errorf("%w: mailbox args: %v", ErrInvalid, err)
		}
	}
	if a.Keep <= 0 {
		a.Keep = 64
	}
	if a.Keep > 4096 {
		return nil, fmt.Errorf("%w: mailbox keep %d is above 4096", ErrInvalid, a.Keep)
	}
	return &mailbox{args: a}, nil
}

type mailbox struct {
	args MailboxArgs
	mu   sync.Mutex
	msgs []Envelope
	seen uint64
}

// Inspect implements Inspector.
func (m *mailbox) Inspect() any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return map[string]any{"received": m.seen, "recent": append([]Envelope(nil), m.msgs...)}
}

// StartTopics implements TopicSubscriber: the kernel subscribes the
// mailbox to its topics before Spawn returns.
func (m *mailbox) StartTopics() []string { return m.args.Topics }

func (m *mailbox) Run(ctx context.Context, p *Process) error {
	for {
		env, err := p.Receive(ctx)
		if err != nil {
			return err
		}
		if env.Payload.Kind == PayloadSignal && env.Payload.Signal == SignalShutdown {
			return nil
		}
		m.mu.Lock()
		m.seen++
		m.msgs = append(m.msgs, *env)
		if len(m.msgs) > m.args.Keep {
			m.msgs = m.msgs[len(m.msgs)-m.args.Keep:]
		}
		m.mu.Unlock()
		if env.ReplyTo {
			ack, _ := json.Marshal(map[string]any{"ack": env.ID})
			if err := p.Reply(ctx, env, JSONPayload(ack)); err != nil {
				p.k.log.Debug("mailbox: reply failed", "pid", p.pid, "err", err)
			}
		}
	}
}
