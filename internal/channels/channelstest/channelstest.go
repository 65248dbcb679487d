// Package channelstest provides channel Handlers that record what a
// channel delivers, for the tests of the channel packages (Telegram, Slack,
// Discord) against their fake servers.
package channelstest

import (
	"bytes"
	"context"
	"sync"

	"github.com/weftos/weftos/internal/channels"
)

// Recorder is a Handler that keeps every inbound message and answers each
// with Answer, sending the Progress texts first when the conversation
// streams. Set its fields before the channel runs; SetAnswer changes the
// answer while it runs.
type Recorder struct {
	Answer   string
	Progress []string

	mu  sync.Mutex
	got []channels.Inbound
}

var _ channels.Handler = (*Recorder)(nil)

// Handle records in and answers it.
func (r *Recorder) Handle(ctx context.Context, in channels.Inbound, conv channels.Conversation) {
	r.mu.Lock()
	r.got = append(r.got, in)
	answer := r.Answer
	r.mu.Unlock()
	if st, ok := conv.(channels.Streamer); ok {
		for _, p := range r.Progress {
			_ = st.Progress(ctx, p)
		}
	}
	_ = conv.Send(ctx, answer)
}

// SetAnswer makes answer the reply to the messages handled from now on.
func (r *Recorder) SetAnswer(answer string) {
	r.mu.Lock()
	r.Answer = answer
	r.mu.Unlock()
}

// Inbound returns a copy of the messages handled so far, in order.
func (r *Recorder) Inbound() []channels.Inbound {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]channels.Inbound(nil), r.got...)
}

// Fetcher is a Handler that downloads every attachment of the messages it
// handles, at most Limit bytes each, then answers "got it".
type Fetcher struct {
	Limit int64

	mu    sync.Mutex
	files map[string]string
	errs  []error
}

var _ channels.Handler = (*Fetcher)(nil)

// Handle fetches the attachments of in.
func (f *Fetcher) Handle(ctx context.Context, in channels.Inbound, conv channels.Conversation) {
	for _, a := range in.Attachments {
		var b bytes.Buffer
		err := a.Fetch(ctx, &b, f.Limit)
		f.mu.Lock()
		if err != nil {
			f.errs = append(f.errs, err)
		} else {
			if f.files == nil {
				f.files = map[string]string{}
			}
			f.files[a.Name+" "+a.MIME] = b.String()
		}
		f.mu.Unlock()
	}
	_ = conv.Send(ctx, "got it")
}

// Files returns the fetched files' contents keyed by "NAME MIME".
func (f *Fetcher) Files() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]string, len(f.files))
	for k, v := range f.files {
		out[k] = v
	}
	return out
}

// Errors returns the fetch errors so far, in order.
func (f *Fetcher) Errors() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.errs...)
}
