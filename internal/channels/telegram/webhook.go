package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"sync"
)

// HeaderSecret carries the webhook's secret token on every delivery.
const HeaderSecret = "X-Telegram-Bot-Api-Secret-Token"

// SetWebhook asks Telegram to deliver updates to url with secret in
// HeaderSecret.
func (c *Client) SetWebhook(ctx context.Context, url, secret string) error {
	p := map[string]any{"url": url, "secret_token": secret, "allowed_updates": []string{"message"}, "drop_pending_updates": false}
	return c.Call(ctx, "setWebhook", p, nil)
}

// webhookState is what a running webhook-mode bot shares with deliveries.
type webhookState struct {
	mu   sync.Mutex
	h    func(Update)
	seen map[int64]bool
	ids  []int64
}

// runWebhook registers the webhook and takes deliveries until ctx ends.
func (b *Bot) runWebhook(ctx context.Context, handle func(Update)) error {
	if err := b.opts.Client.SetWebhook(ctx, b.opts.WebhookURL, b.opts.WebhookSecret); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	b.hook.mu.Lock()
	b.hook.h = handle
	b.hook.mu.Unlock()
	if b.opts.OnReady != nil {
		b.opts.OnReady()
	}
	defer func() {
		b.hook.mu.Lock()
		b.hook.h = nil
		b.hook.mu.Unlock()
	}()
	<-ctx.Done()
	return nil
}

// ServeWebhook is the webhook endpoint (the gateway serves it at POST
// /hooks/telegram/NAME): a delivery without the secret token is refused;
// one while the bot is not running gets 503, so Telegram retries; an
// update delivered twice is handled once.
func (b *Bot) ServeWebhook(w http.ResponseWriter, r *http.Request) {
	got := r.Header.Get(HeaderSecret)
	if b.opts.WebhookSecret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(b.opts.WebhookSecret)) != 1 {
		http.Error(w, "bad secret token", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	var u Update
	if err := json.Unmarshal(body, &u); err != nil {
		http.Error(w, "unreadable update", http.StatusBadRequest)
		return
	}
	b.hook.mu.Lock()
	h := b.hook.h
	dup := false
	if h != nil {
		if b.hook.seen == nil {
			b.hook.seen = map[int64]bool{}
		}
		dup = b.hook.seen[u.UpdateID]
		if !dup {
			b.hook.seen[u.UpdateID] = true
			b.hook.ids = append(b.hook.ids, u.UpdateID)
			if len(b.hook.ids) > 4096 {
				delete(b.hook.seen, b.hook.ids[0])
				b.hook.ids = b.hook.ids[1:]
			}
		}
	}
	b.hook.mu.Unlock()
	if h == nil {
		http.Error(w, "the bot is not running", http.StatusServiceUnavailable)
		return
	}
	if !dup {
		h(u)
	}
	w.WriteHeader(http.StatusOK)
}
