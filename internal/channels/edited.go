package channels

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/clock"
)

// Messenger is what a chat service offers an answer: post a message in
// the conversation and edit one it posted.
type Messenger interface {
	// Post sends text as a new message and returns its id.
	Post(ctx context.Context, text string) (id string, err error)
	// Edit replaces the text of message id. Editing a message to the text
	// it already shows must succeed.
	Edit(ctx context.Context, id, text string) error
}

// EditedAnswer is a Streamer over a Messenger: a streamed answer is one
// message, posted at the first progress and edited (at most once per
// Interval) as the text grows; the final text replaces it, and what does
// not fit follows in further messages of at most Max units. The zero
// value is not usable; fill the exported fields before the first call.
type EditedAnswer struct {
	Messenger Messenger
	Clock     clock.Clock
	// Interval is the least time between two progress edits.
	Interval time.Duration
	// Max is the platform's message limit, counted by Count (runes when
	// nil).
	Max   int
	Count func(string) int
	// RateLimited, when set, reports whether err is the platform asking
	// to wait, and how long. A rate-limited progress edit is skipped (the
	// final Send shows the whole text); a rate-limited post or edit of
	// the final text waits and is retried up to FinalRetries times.
	RateLimited  func(err error) (time.Duration, bool)
	FinalRetries int

	mu       sync.Mutex
	id       string
	shown    string
	nextEdit time.Time
	// limitedUntil is when the platform's last rate limit ends: the final
	// Send waits for it rather than be refused again.
	limitedUntil time.Time
}

var _ Streamer = (*EditedAnswer)(nil)

// Progress implements Streamer.
func (a *EditedAnswer) Progress(ctx context.Context, soFar string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	parts := Chunk(soFar, a.Max, a.Count)
	now := a.Clock.Now()
	if len(parts) == 0 || parts[0] == a.shown || now.Before(a.nextEdit) {
		return nil
	}
	a.nextEdit = now.Add(a.Interval)
	var err error
	if a.id == "" {
		var id string
		if id, err = a.Messenger.Post(ctx, parts[0]); err == nil {
			a.id = id
		}
	} else {
		err = a.Messenger.Edit(ctx, a.id, parts[0])
	}
	if wait, ok := a.rateLimited(err); ok {
		// The wait counts from the refusal, not from the request: no
		// retry, the next progress or the final Send will do.
		a.nextEdit = a.Clock.Now().Add(wait)
		a.limitedUntil = a.nextEdit
		return nil
	}
	if err == nil {
		a.shown = parts[0]
	}
	return err
}

// Send implements Conversation: the final text, in as many messages as
// it takes. An empty answer is shown as "(no answer)".
func (a *EditedAnswer) Send(ctx context.Context, text string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if strings.TrimSpace(text) == "" {
		text = "(no answer)"
	}
	parts := Chunk(text, a.Max, a.Count)
	if wait := a.limitedUntil.Sub(a.Clock.Now()); wait > 0 {
		if !clock.Sleep(ctx, a.Clock, wait) {
			return ctx.Err()
		}
	}
	if a.id != "" {
		if parts[0] != a.shown {
			if err := a.retry(ctx, func() error { return a.Messenger.Edit(ctx, a.id, parts[0]) }); err != nil {
				return err
			}
		}
		a.shown, parts = parts[0], parts[1:]
	}
	for _, p := range parts {
		if err := a.retry(ctx, func() error { _, err := a.Messenger.Post(ctx, p); return err }); err != nil {
			return err
		}
	}
	return nil
}

func (a *EditedAnswer) rateLimited(err error) (time.Duration, bool) {
	if err == nil || a.RateLimited == nil {
		return 0, false
	}
	return a.RateLimited(err)
}

// retry runs f, waiting out rate limits up to FinalRetries times.
func (a *EditedAnswer) retry(ctx context.Context, f func() error) error {
	for attempt := 0; ; attempt++ {
		err := f()
		wait, ok := a.rateLimited(err)
		if !ok || attempt >= a.FinalRetries {
			return err
		}
		wait = max(wait, time.Second)
		a.limitedUntil = a.Clock.Now().Add(wait)
		if !clock.Sleep(ctx, a.Clock, wait) {
			return ctx.Err()
		}
	}
}
