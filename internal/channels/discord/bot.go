package discord

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/channels"
	"github.com/weftos/weftos/internal/clock"
)

// Options configure a Bot.
type Options struct {
	Name  string
	Token string
	REST  *REST
	// EditInterval is the least time between two edits of a message
	// showing an answer in progress (default 1 s).
	EditInterval time.Duration
	// InvalidSessionWait is the wait before identifying again after a
	// non-resumable INVALID_SESSION (Discord asks for 1–5 s; default 2 s).
	InvalidSessionWait time.Duration
	Clock              clock.Clock
	Log                *slog.Logger
}

// Bot is a Discord bot as a channels.Channel.
type Bot struct {
	opts Options
	wg   sync.WaitGroup
}

// New returns a bot.
func New(opts Options) *Bot {
	if opts.EditInterval <= 0 {
		opts.EditInterval = time.Second
	}
	if opts.InvalidSessionWait <= 0 {
		opts.InvalidSessionWait = 2 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Bot{opts: opts}
}

// Name implements channels.Channel.
func (b *Bot) Name() string { return b.opts.Name }

// Kind implements channels.Channel.
func (b *Bot) Kind() string { return "discord" }

// User is a Discord user.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Bot      bool   `json:"bot,omitempty"`
}

// MessageEvent is the part of MESSAGE_CREATE the bot reads.
type MessageEvent struct {
	ID          string        `json:"id"`
	ChannelID   string        `json:"channel_id"`
	GuildID     string        `json:"guild_id,omitempty"`
	Author      User          `json:"author"`
	Content     string        `json:"content"`
	Mentions    []User        `json:"mentions"`
	Referenced  *MessageEvent `json:"referenced_message,omitempty"`
	Attachments []Attachment  `json:"attachments,omitempty"`
}

// Attachment is a file on a message.
type Attachment struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size"`
	URL         string `json:"url"`
}

// Run implements channels.Channel: one gateway session, resumed across
// reconnects; connection failures are retried (100 ms doubling, at most
// five in a row before the supervisor takes over), fatal close codes end it.
func (b *Bot) Run(ctx context.Context, h channels.Handler) error {
	defer b.wg.Wait()
	url, err := b.opts.REST.GatewayURL(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	url = strings.TrimRight(url, "/")
	var st session
	failures := 0
	for ctx.Err() == nil {
		nx, err := b.connect(ctx, url, &st, h)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, channels.ErrFatal) {
			return err
		}
		if nx == reidentify {
			st = session{}
		}
		if err == nil {
			failures = 0
			continue
		}
		failures++
		b.opts.Log.Warn("discord: gateway connection failed", "channel", b.opts.Name, "err", err, "failures", failures)
		if failures > 5 {
			return err
		}
		if !clock.Sleep(ctx, b.opts.Clock, 100*time.Millisecond<<failures) {
			return nil
		}
	}
	return nil
}

// inbound turns a message into what the dispatcher sees.
func (b *Bot) inbound(me User, m MessageEvent) (channels.Inbound, bool) {
	atts := b.attachments(m.Attachments)
	if m.Author.Bot || m.Author.ID == "" || m.Author.ID == me.ID || strings.TrimSpace(m.Content) == "" && len(atts) == 0 {
		return channels.Inbound{}, false
	}
	in := channels.Inbound{Channel: b.opts.Name, Sender: m.Author.ID, SenderName: m.Author.Username, Chat: m.ChannelID, Text: m.Content,
		Attachments: atts}
	if m.GuildID != "" {
		in.Group = m.ChannelID
		in.Mentioned = slices.ContainsFunc(m.Mentions, func(u User) bool { return u.ID == me.ID }) ||
			m.Referenced != nil && m.Referenced.Author.ID == me.ID
	}
	return in, true
}

// attachments describes a message's files; they are fetched only from
// Discord's CDN (or the configured API's host), over https unless that
// host is the API's.
func (b *Bot) attachments(list []Attachment) []channels.Attachment {
	var out []channels.Attachment
	for _, a := range list {
		if a.URL == "" {
			continue
		}
		a := a
		out = append(out, channels.Attachment{Name: a.Filename, MIME: a.ContentType, Size: a.Size,
			Fetch: func(ctx context.Context, w io.Writer, limit int64) error {
				if a.Size > limit {
					return fmt.Errorf("discord: file of %d bytes, over the %d-byte cap", a.Size, limit)
				}
				return b.opts.REST.Download(ctx, a.URL, w, limit)
			}})
	}
	return out
}

// messenger posts and edits the bot's messages in a channel, replying to
// a message in guilds; the REST client waits out rate limits itself.
type messenger struct {
	rest    *REST
	channel string
	replyTo string
}

// Post implements channels.Messenger.
func (m messenger) Post(ctx context.Context, text string) (string, error) {
	msg, err := m.rest.Send(ctx, m.channel, text, m.replyTo)
	return msg.ID, err
}

// Edit implements channels.Messenger.
func (m messenger) Edit(ctx context.Context, id, text string) error {
	return m.rest.Edit(ctx, m.channel, id, text)
}

// answer is how the bot answers in a channel: one message edited
// (throttled) as the answer grows, completed by the final text and
// further messages of at most 2,000 characters.
func (b *Bot) answer(channel, replyTo string) *channels.EditedAnswer {
	return &channels.EditedAnswer{Messenger: messenger{rest: b.opts.REST, channel: channel, replyTo: replyTo},
		Clock: b.opts.Clock, Interval: b.opts.EditInterval, Max: MaxMessage}
}
