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
		conv := &conversation{b: b, chat: u.Message.Chat.ID}
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

// conversation answers in one chat: a streamed answer is one message
// edited (throttled) as the text grows; the final text replaces it and
// what does not fit follows in further messages of at most 4,096 units.
type conversation struct {
	b    *Bot
	chat int64

	mu       sync.Mutex
	msgID    int64
	shown    string
	nextEdit time.Time
}

// Progress implements channels.Streamer.
func (c *conversation) Progress(ctx context.Context, soFar string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	text := channels.Chunk(soFar, MaxMessage, channels.UTF16Len)
	if len(text) == 0 || text[0] == c.shown {
		return nil
	}
	now := c.b.opts.Clock.Now()
	if now.Before(c.nextEdit) {
		return nil // the final Send shows the whole text
	}
	cl := c.b.opts.Client
	var err error
	if c.msgID == 0 {
		var m Message
		if m, err = cl.SendMessage(ctx, c.chat, text[0]); err == nil {
			c.msgID = m.MessageID
		}
	} else {
		err = cl.call(ctx, "editMessageText", editParams(c.chat, c.msgID, text[0]), nil)
	}
	c.nextEdit = now.Add(c.b.opts.EditInterval)
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		c.nextEdit = now.Add(ae.RetryAfter) // no retry: the next progress will do
		return nil
	}
	if err == nil {
		c.shown = text[0]
	}
	return err
}

func editParams(chat, msg int64, text string) map[string]any {
	return map[string]any{"chat_id": chat, "message_id": msg, "text": text, "link_preview_options": map[string]any{"is_disabled": true}}
}

// Send implements channels.Conversation.
func (c *conversation) Send(ctx context.Context, text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.TrimSpace(text) == "" {
		text = "(no answer)"
	}
	chunks := channels.Chunk(text, MaxMessage, channels.UTF16Len)
	cl := c.b.opts.Client
	if c.msgID != 0 {
		if chunks[0] != c.shown {
			err := cl.EditMessageText(ctx, c.chat, c.msgID, chunks[0])
			var ae *APIError
			if err != nil && !(errors.As(err, &ae) && strings.Contains(ae.Description, "message is not modified")) {
				return err
			}
		}
		c.shown = chunks[0]
		chunks = chunks[1:]
	}
	for _, ch := range chunks {
		if _, err := cl.SendMessage(ctx, c.chat, ch); err != nil {
			return err
		}
	}
	return nil
}
