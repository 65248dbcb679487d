package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/weftos/weftos/internal/channels"
	"github.com/weftos/weftos/internal/clock"
)

// Options configure a Bot.
type Options struct {
	Name   string
	Client *Client
	// PollTimeout is the long poll's timeout (default 30 s).
	PollTimeout time.Duration
	// EditInterval is the least time between two edits of a message
	// showing an answer in progress (default 1 s; Telegram allows about
	// one edit a second per chat).
	EditInterval time.Duration
	// WebhookURL, when set, selects webhook mode: Telegram delivers
	// updates to it (the gateway's /hooks/telegram/NAME) with
	// WebhookSecret in every request, instead of being polled.
	WebhookURL, WebhookSecret string
	Clock                     clock.Clock
	Log                       *slog.Logger
	// OnReady, when set, is called each time Run starts taking updates.
	OnReady func()
}

// Bot is a Telegram bot as a channels.Channel.
type Bot struct {
	opts Options
	hook webhookState
}

// New returns a bot.
func New(opts Options) *Bot {
	if opts.PollTimeout <= 0 {
		opts.PollTimeout = 30 * time.Second
	}
	if opts.EditInterval <= 0 {
		opts.EditInterval = time.Second
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
func (b *Bot) Kind() string { return "telegram" }

// ErrConflict: another program polls the same bot.
var ErrConflict = errors.New("another program is polling this bot's updates (409)")

// Run implements channels.Channel: long polling, each update acknowledged
// by the next poll's offset (so an update is redelivered if the node
// stops before it has polled again), each message handled in its own
// goroutine.
func (b *Bot) Run(ctx context.Context, h channels.Handler) error {
	c := b.opts.Client
	me, err := c.GetMe(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	handle := func(u Update) {
		in, ok := b.inbound(me, u.Message)
		if !ok {
			return
		}
		conv := b.answer(u.Message.Chat.ID)
		wg.Go(func() { h.Handle(ctx, in, conv) })
	}
	if b.opts.WebhookURL != "" {
		return b.runWebhook(ctx, handle)
	}
	if b.opts.OnReady != nil {
		b.opts.OnReady()
	}
	var offset int64
	removedHook := false
	for {
		ups, err := c.GetUpdates(ctx, offset, b.opts.PollTimeout)
		if ctx.Err() != nil {
			return nil
		}
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == http.StatusConflict {
			if strings.Contains(strings.ToLower(ae.Description), "webhook") && !removedHook {
				// A webhook left behind blocks polling: remove it once.
				b.opts.Log.Warn("telegram: a webhook is set; removing it to poll", "channel", b.opts.Name)
				if err := c.DeleteWebhook(ctx); err != nil {
					return err
				}
				removedHook = true
				continue
			}
			return fmt.Errorf("%w: %w", ErrConflict, err)
		}
		if err != nil {
			return err
		}
		for _, u := range ups {
			offset = max(offset, u.UpdateID+1)
			handle(u)
		}
	}
}

// inbound turns a message into what the dispatcher sees; false for
// messages that are not text from a person in a private chat or a group.
func (b *Bot) inbound(me User, m *Message) (channels.Inbound, bool) {
	if m == nil || m.From == nil || m.From.IsBot {
		return channels.Inbound{}, false
	}
	text, entities := m.Text, m.Entities
	if text == "" {
		text, entities = m.Caption, m.CaptionEntities
	}
	atts := b.attachments(m)
	if strings.TrimSpace(text) == "" && len(atts) == 0 {
		return channels.Inbound{}, false
	}
	name := strings.TrimSpace(m.From.FirstName + " " + m.From.LastName)
	if m.From.Username != "" {
		name += " (@" + m.From.Username + ")"
	}
	chat := strconv.FormatInt(m.Chat.ID, 10)
	in := channels.Inbound{Channel: b.opts.Name, Sender: strconv.FormatInt(m.From.ID, 10), SenderName: name, Chat: chat, Text: text,
		Attachments: atts}
	switch m.Chat.Type {
	case "private":
	case "group", "supergroup":
		in.Group = chat
		in.Mentioned = mentions(me, &Message{Text: text, Entities: entities, ReplyTo: m.ReplyTo})
	default:
		return channels.Inbound{}, false
	}
	return in, true
}

// attachments describes a message's document or photo (the largest size)
// without downloading it.
func (b *Bot) attachments(m *Message) []channels.Attachment {
	fetch := func(id string) func(ctx context.Context, w io.Writer, limit int64) error {
		return func(ctx context.Context, w io.Writer, limit int64) error {
			return b.opts.Client.Download(ctx, id, w, limit)
		}
	}
	var out []channels.Attachment
	if d := m.Document; d != nil && d.FileID != "" {
		name := d.FileName
		if name == "" {
			name = "document"
		}
		out = append(out, channels.Attachment{Name: name, MIME: d.MIMEType, Size: d.FileSize, Fetch: fetch(d.FileID)})
	}
	if n := len(m.Photo); n > 0 && m.Photo[n-1].FileID != "" {
		p := m.Photo[n-1]
		out = append(out, channels.Attachment{Name: "photo.jpg", MIME: "image/jpeg", Size: p.FileSize, Fetch: fetch(p.FileID)})
	}
	return out
}

// mentions reports whether m mentions the bot: a mention entity naming its
// username, a text mention of its id, a command addressed to it, or a
// reply to one of its messages.
func mentions(me User, m *Message) bool {
	if m.ReplyTo != nil && m.ReplyTo.From != nil && m.ReplyTo.From.ID == me.ID {
		return true
	}
	units := utf16.Encode([]rune(m.Text))
	for _, e := range m.Entities {
		if e.Offset < 0 || e.Length <= 0 || e.Offset+e.Length > len(units) {
			continue
		}
		span := string(utf16.Decode(units[e.Offset : e.Offset+e.Length]))
		switch e.Type {
		case "mention":
			if me.Username != "" && strings.EqualFold(span, "@"+me.Username) {
				return true
			}
		case "text_mention":
			if e.User != nil && e.User.ID == me.ID {
				return true
			}
		case "bot_command":
			if _, to, ok := strings.Cut(span, "@"); ok && me.Username != "" && strings.EqualFold(to, me.Username) {
				return true
			}
		}
	}
	return false
}

// messenger posts and edits the bot's messages in one chat, without
// waiting out rate limits itself: the EditedAnswer over it decides whether
// to wait (the final text) or skip (a progress edit).
type messenger struct {
	cl   *Client
	chat int64
}

// Post implements channels.Messenger.
func (m messenger) Post(ctx context.Context, text string) (string, error) {
	var msg Message
	p := map[string]any{"chat_id": m.chat, "text": text, "link_preview_options": map[string]any{"is_disabled": true}}
	if err := m.cl.call(ctx, "sendMessage", p, &msg); err != nil {
		return "", err
	}
	return strconv.FormatInt(msg.MessageID, 10), nil
}

// Edit implements channels.Messenger.
func (m messenger) Edit(ctx context.Context, id, text string) error {
	msgID, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return fmt.Errorf("telegram: message id %q: %w", id, err)
	}
	p := map[string]any{"chat_id": m.chat, "message_id": msgID, "text": text, "link_preview_options": map[string]any{"is_disabled": true}}
	err = m.cl.call(ctx, "editMessageText", p, nil)
	var ae *APIError
	if errors.As(err, &ae) && strings.Contains(ae.Description, "message is not modified") {
		return nil
	}
	return err
}

// rateLimited reports a 429 answer and the wait Telegram asked for.
func rateLimited(err error) (time.Duration, bool) {
	var ae *APIError
	if errors.As(err, &ae) && (ae.Code == http.StatusTooManyRequests || ae.RetryAfter > 0) {
		return ae.RetryAfter, true
	}
	return 0, false
}

// answer is how the bot answers in one chat: one message edited
// (throttled) as the answer grows, completed by further messages of at
// most 4,096 UTF-16 units.
func (b *Bot) answer(chat int64) *channels.EditedAnswer {
	return &channels.EditedAnswer{Messenger: messenger{cl: b.opts.Client, chat: chat}, Clock: b.opts.Clock,
		Interval: b.opts.EditInterval, Max: MaxMessage, Count: channels.UTF16Len,
		RateLimited: rateLimited, FinalRetries: b.opts.Client.MaxRetries}
}
