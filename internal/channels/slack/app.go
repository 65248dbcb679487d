// Package slack is the Slack channel: github.com/slack-go/slack for the Web
// API (auth.test, chat.postMessage, chat.update) and Socket Mode (hello,
// every envelope acknowledged at once, disconnect/refresh reconnects), and
// an Events API endpoint of its own (url_verification, v0= HMAC-SHA256
// signatures within a 5-minute window, retries deduplicated by event id)
// served by the gateway — behind channels.Channel. Answers are posted in
// parts of at most 4,000 characters (in the message's thread in channels),
// streamed by throttled chat.update, and 429 answers are waited out.
package slack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/weftos/weftos/internal/channels"
	"github.com/weftos/weftos/internal/clock"
)

// MaxMessage is the length of one posted part (Slack advises 4,000
// characters; it truncates far longer texts).
const MaxMessage = 4000

// Options configure an App.
type Options struct {
	Name string
	// BotToken (xoxb-) is required; AppToken (xapp-) selects Socket Mode;
	// without it events come through the Events API (SigningSecret).
	BotToken, AppToken, SigningSecret string
	// APIURL overrides https://slack.com/api/ (a fake in tests).
	APIURL string
	// EditInterval is the least time between two updates of a message
	// showing an answer in progress (default 1 s).
	EditInterval time.Duration
	// PingInterval is how long Socket Mode waits for Slack's pings before
	// reconnecting (default 30 s).
	PingInterval time.Duration
	HTTPClient   *http.Client
	Clock        clock.Clock
	Log          *slog.Logger
	// OnReady, when set, is called each time Run starts taking events.
	OnReady func()
}

// App is a Slack app as a channels.Channel.
type App struct {
	opts Options
	api  *slack.Client
	seen dedup

	mu      sync.Mutex
	h       channels.Handler // set while Run runs (Events API deliveries)
	ctx     context.Context
	wg      *sync.WaitGroup
	botUser string
}

// New returns an app.
func New(opts Options) *App {
	if opts.EditInterval <= 0 {
		opts.EditInterval = time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	sopts := []slack.Option{}
	if opts.APIURL != "" {
		sopts = append(sopts, slack.OptionAPIURL(opts.APIURL))
	}
	if opts.AppToken != "" {
		sopts = append(sopts, slack.OptionAppLevelToken(opts.AppToken))
	}
	if opts.HTTPClient != nil {
		sopts = append(sopts, slack.OptionHTTPClient(opts.HTTPClient))
	}
	return &App{opts: opts, api: slack.New(opts.BotToken, sopts...)}
}

// Name implements channels.Channel.
func (a *App) Name() string { return a.opts.Name }

// Kind implements channels.Channel.
func (a *App) Kind() string { return "slack" }

// fatalAuth are the auth.test errors retrying cannot fix.
var fatalAuth = []string{"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}

// Run implements channels.Channel: Socket Mode when an app token is set;
// otherwise it waits for the Events API deliveries the gateway hands to
// ServeEvents.
func (a *App) Run(ctx context.Context, h channels.Handler) error {
	auth, err := a.api.AuthTestContext(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		for _, f := range fatalAuth {
			if err.Error() == f {
				return fmt.Errorf("%w: slack auth.test: %w", channels.ErrFatal, err)
			}
		}
		return fmt.Errorf("slack auth.test: %w", err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	a.mu.Lock()
	a.h, a.ctx, a.wg, a.botUser = h, ctx, &wg, auth.UserID
	a.mu.Unlock()
	if a.opts.OnReady != nil {
		a.opts.OnReady()
	}
	defer func() {
		a.mu.Lock()
		a.h = nil
		a.mu.Unlock()
	}()
	if a.opts.AppToken == "" {
		<-ctx.Done()
		return nil
	}
	return a.socketMode(ctx)
}

// socketMode runs a Socket Mode connection until ctx ends: each envelope
// is acknowledged before its event is handled (Slack redelivers what is
// not acknowledged within 3 s).
func (a *App) socketMode(ctx context.Context) error {
	var sopts []socketmode.Option
	if a.opts.PingInterval > 0 {
		sopts = append(sopts, socketmode.OptionPingInterval(a.opts.PingInterval))
	}
	sopts = append(sopts, socketmode.OptionLog(slogLogger{a.opts.Log}))
	smc := socketmode.New(a.api, sopts...)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- smc.RunContext(ctx) }()
	for {
		select {
		case err := <-done:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("slack socket mode: %w", err)
		case ev := <-smc.Events:
			switch ev.Type {
			case socketmode.EventTypeInvalidAuth:
				cancel()
				<-done
				return fmt.Errorf("%w: slack socket mode: invalid app token", channels.ErrFatal)
			case socketmode.EventTypeEventsAPI:
				if ev.Request != nil {
					if err := smc.AckCtx(ctx, ev.Request.EnvelopeID, nil); err != nil {
						a.opts.Log.Warn("slack: acknowledging an envelope", "channel", a.opts.Name, "err", err)
					}
				}
				if e, ok := ev.Data.(slackevents.EventsAPIEvent); ok {
					a.event(e)
				}
			}
		}
	}
}

// slogLogger adapts slog to socketmode's logger.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Output(_ int, msg string) error {
	s.l.Debug("slack socket mode: " + strings.TrimSpace(msg))
	return nil
}

// event handles one Events API event (from either transport).
func (a *App) event(e slackevents.EventsAPIEvent) {
	if e.Type != slackevents.CallbackEvent {
		return
	}
	if cb, ok := e.Data.(*slackevents.EventsAPICallbackEvent); ok && cb.EventID != "" && !a.seen.add("event/"+cb.EventID) {
		return // a retry of an event already handled
	}
	var user, text, channel, ts, thread, ctype, botID, subtype string
	var files []slack.File
	switch ev := e.InnerEvent.Data.(type) {
	case *slackevents.MessageEvent:
		user, text, channel, ts, thread, ctype, botID, subtype = ev.User, ev.Text, ev.Channel, ev.TimeStamp, ev.ThreadTimeStamp, ev.ChannelType, ev.BotID, ev.SubType
		if ev.Message != nil {
			files = ev.Message.Files
		}
	case *slackevents.AppMentionEvent:
		user, text, channel, ts, thread, ctype, botID, files = ev.User, ev.Text, ev.Channel, ev.TimeStamp, ev.ThreadTimeStamp, "channel", ev.BotID, ev.Files
	default:
		return
	}
	a.mu.Lock()
	h, ctx, wg, me := a.h, a.ctx, a.wg, a.botUser
	a.mu.Unlock()
	atts := a.attachments(files)
	if h == nil || subtype != "" && subtype != "file_share" || botID != "" || user == "" || user == me || strings.TrimSpace(text) == "" && len(atts) == 0 {
		return
	}
	// A channel message that mentions the app arrives twice (message and
	// app_mention): one message, one handling.
	if !a.seen.add("msg/" + channel + "/" + ts) {
		return
	}
	in := channels.Inbound{Channel: a.opts.Name, Sender: user, Chat: channel, Text: text, Attachments: atts}
	answerIn := ""
	if ctype != "im" {
		in.Group = channel
		in.Mentioned = strings.Contains(text, "<@"+me+">")
		answerIn = thread
		if answerIn == "" {
			answerIn = ts // answer in the message's thread
		}
	}
	conv := a.answer(channel, answerIn)
	wg.Go(func() { h.Handle(ctx, in, conv) })
}

// attachments describes a message's files; the download sends the bot
// token, which slack-go sends only to Slack's own https hosts or the API
// address.
func (a *App) attachments(files []slack.File) []channels.Attachment {
	var out []channels.Attachment
	for _, f := range files {
		if f.URLPrivateDownload == "" {
			continue
		}
		f := f
		out = append(out, channels.Attachment{Name: f.Name, MIME: f.Mimetype, Size: int64(f.Size),
			Fetch: func(ctx context.Context, w io.Writer, limit int64) error {
				if int64(f.Size) > limit {
					return fmt.Errorf("slack: file of %d bytes, over the %d-byte cap", f.Size, limit)
				}
				return a.api.GetFileContext(ctx, f.URLPrivateDownload, w)
			}})
	}
	return out
}

// dedup remembers the last 4,096 keys.
type dedup struct {
	mu   sync.Mutex
	set  map[string]bool
	ring []string
	next int
}

func (d *dedup) add(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.set == nil {
		d.set, d.ring = map[string]bool{}, make([]string, 4096)
	}
	if d.set[key] {
		return false
	}
	if old := d.ring[d.next]; old != "" {
		delete(d.set, old)
	}
	d.ring[d.next], d.set[key] = key, true
	d.next = (d.next + 1) % len(d.ring)
	return true
}

// messenger posts and updates the app's messages in a channel (in a
// thread outside DMs), without waiting out rate limits itself: the
// EditedAnswer over it decides whether to wait or skip.
type messenger struct {
	a       *App
	channel string
	thread  string
}

// Post implements channels.Messenger.
func (m messenger) Post(ctx context.Context, text string) (string, error) {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionDisableLinkUnfurl()}
	if m.thread != "" {
		opts = append(opts, slack.MsgOptionTS(m.thread))
	}
	_, ts, err := m.a.api.PostMessageContext(ctx, m.channel, opts...)
	return ts, err
}

// Edit implements channels.Messenger.
func (m messenger) Edit(ctx context.Context, ts, text string) error {
	_, _, _, err := m.a.api.UpdateMessageContext(ctx, m.channel, ts, slack.MsgOptionText(text, false))
	return err
}

// rateLimited reports a 429 answer and the wait Slack asked for.
func rateLimited(err error) (time.Duration, bool) {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return rl.RetryAfter, true
	}
	return 0, false
}

// answer is how the app answers in a channel: one message updated
// (throttled) as the answer grows, completed by the final text and
// further messages for what does not fit; rate-limited final messages
// are retried up to 3 times.
func (a *App) answer(channel, thread string) *channels.EditedAnswer {
	return &channels.EditedAnswer{Messenger: messenger{a: a, channel: channel, thread: thread}, Clock: a.opts.Clock,
		Interval: a.opts.EditInterval, Max: MaxMessage, RateLimited: rateLimited, FinalRetries: 3}
}
