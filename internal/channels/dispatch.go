package channels

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/config"
	"github.com/weftos/weftos/internal/governance"
)

// PairingRequestRecord is the payload of a channel.pairing_request event:
// a stranger was given a pairing code (the code itself is not recorded).
type PairingRequestRecord struct {
	Channel    string    `json:"channel"`
	Sender     string    `json:"sender"`
	SenderName string    `json:"sender_name,omitempty"`
	Expires    time.Time `json:"expires"`
}

// Dispatcher admits chat messages and hands them to their agents. Deny by
// default: a direct message from a sender nobody approved gets a pairing
// code and nothing else; a group message counts only in an allowlisted
// group, and only when it mentions the bot unless the channel says
// otherwise (approving a sender grants nothing in groups). Admitted
// messages are rate-limited per sender, routed, delimited as untrusted and
// exchanged through the Hub; the reply goes back on the conversation.
type Dispatcher struct {
	Hub      *Hub
	Pairing  *Pairing
	Router   *Router
	Channels []config.Channel
	Senders  *Limiter
	Clock    clock.Clock
	Log      *slog.Logger

	mu    sync.Mutex
	tally map[string]*[3]uint64 // received, answered, refused
}

func (d *Dispatcher) log() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

func (d *Dispatcher) count(channel string, i int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tally == nil {
		d.tally = map[string]*[3]uint64{}
	}
	c := d.tally[channel]
	if c == nil {
		c = new([3]uint64)
		d.tally[channel] = c
	}
	c[i]++
}

func (d *Dispatcher) counts(channel string) (received, answered, refused uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.tally[channel]; c != nil {
		return c[0], c[1], c[2]
	}
	return 0, 0, 0
}

func (d *Dispatcher) channel(name string) (config.Channel, bool) {
	i := slices.IndexFunc(d.Channels, func(c config.Channel) bool { return c.Name == name })
	if i < 0 {
		return config.Channel{}, false
	}
	return d.Channels[i], true
}

// PairingPrompt is what a stranger is told.
func PairingPrompt(code string) string {
	return fmt.Sprintf("This bot answers approved people only. Your pairing code is %s (valid for one hour). "+
		"Ask the bot's operator to approve it with: weave pairing approve %s", code, code)
}

// Handle implements Handler.
func (d *Dispatcher) Handle(ctx context.Context, in Inbound, conv Conversation) {
	d.count(in.Channel, 0)
	ch, ok := d.channel(in.Channel)
	if !ok {
		d.count(in.Channel, 2)
		return
	}
	now := d.Clock.Now()
	owner := slices.Contains(ch.Owners, in.Sender)
	if in.Group == "" {
		if !owner && !d.Pairing.Allowed(in.Channel, in.Sender) {
			d.count(in.Channel, 2)
			if ok, _ := d.Senders.Allow(in.Channel+"/"+in.Sender, now); ok { // a stranger's flood gets nothing
				d.pair(ctx, in, conv, now)
			}
			return
		}
	} else if !slices.Contains(ch.Groups, in.Group) || !ch.WithoutMention && !in.Mentioned {
		d.count(in.Channel, 2)
		return // not for us: no answer, nothing recorded
	}
	if ok, _ := d.Senders.Allow(in.Channel+"/"+in.Sender, now); !ok {
		d.count(in.Channel, 2)
		d.log().Warn("sender over its rate limit", "channel", in.Channel, "sender", in.Sender)
		return
	}
	peer, session := in.Chat, SessionName("ch", in.Channel, in.Chat)
	if owner {
		session = SessionName("own", in.Channel, in.Chat)
	}
	if in.Group != "" {
		peer, session = "", SessionName("ch", in.Channel, "g"+in.Group)
	}
	m := Message{Channel: in.Channel, Sender: in.Sender, SenderName: in.SenderName, Peer: peer, Group: in.Group,
		Agent: d.Router.Agent(in.Channel, in.Sender, in.Group), Session: session, Text: in.Text, Untrusted: true,
		Attachments: in.Attachments, Media: MediaPolicy{MaxBytes: ch.MediaMaxBytes, Types: ch.MediaTypes}}
	var emit func(apitype.RunEvent) error
	if st, ok := conv.(Streamer); ok {
		turn, soFar := 0, ""
		emit = func(ev apitype.RunEvent) error {
			if ev.Type != apitype.RunDelta {
				return nil
			}
			if ev.Turn != turn {
				turn, soFar = ev.Turn, ""
			}
			soFar += ev.Text
			if err := st.Progress(ctx, soFar); err != nil {
				d.log().Warn("showing an answer in progress", "channel", in.Channel, "err", err)
			}
			return nil
		}
	}
	rep, err := d.Hub.Exchange(ctx, m, emit)
	if err != nil {
		d.count(in.Channel, 2)
		d.log().Warn("inbound message not answered", "channel", in.Channel, "sender", in.Sender, "agent", m.Agent, "err", err)
		if ctx.Err() != nil {
			return
		}
		if serr := conv.Send(ctx, failureText(err)); serr != nil {
			d.log().Warn("sending a failure notice", "channel", in.Channel, "err", serr)
		}
		return
	}
	if err := conv.Send(ctx, rep.Answer); err != nil {
		d.log().Warn("sending an answer", "channel", in.Channel, "err", err)
		return
	}
	d.count(in.Channel, 1)
}

// pair answers a stranger with its pairing code (a new one is recorded).
func (d *Dispatcher) pair(ctx context.Context, in Inbound, conv Conversation, now time.Time) {
	q, fresh, err := d.Pairing.Request(in.Channel, in.Sender, in.SenderName, now)
	if err != nil {
		d.log().Warn("no pairing code for a stranger", "channel", in.Channel, "sender", in.Sender, "err", err)
		return
	}
	if fresh {
		rec := PairingRequestRecord{Channel: in.Channel, Sender: in.Sender, SenderName: q.Name, Expires: q.Expires}
		if _, err := d.Hub.Auth.Record(ctx, "channels", governance.KindPairingRequest, rec); err != nil {
			d.log().Error("recording a pairing request", "err", err)
			return
		}
		d.log().Info("pairing requested", "channel", in.Channel, "sender", in.Sender, "name", q.Name)
	}
	if err := conv.Send(ctx, PairingPrompt(q.Code)); err != nil {
		d.log().Warn("sending a pairing code", "channel", in.Channel, "err", err)
	}
}

// failureText is what the sender is told when the exchange failed: the
// code, not internals.
func failureText(err error) string {
	var re *RunError
	switch {
	case errors.As(err, &re):
		return "Sorry, the agent could not answer (" + re.Code + ")."
	case errors.Is(err, authority.ErrLedger):
		return "Sorry, this node cannot take messages right now."
	case errors.Is(err, authority.ErrRefused):
		return "This message was refused by the node's governance."
	}
	return "Sorry, the agent could not answer."
}
