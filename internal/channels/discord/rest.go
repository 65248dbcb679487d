// Package discord is the Discord channel: an own gateway client on
// github.com/coder/websocket — HELLO, IDENTIFY with intents, jittered
// heartbeats with ACK tracking (a missed ACK is a zombie connection:
// reconnect and RESUME from the last sequence), RECONNECT (op 7) and
// INVALID_SESSION (op 9), close codes that make retrying pointless
// stopping it — and an own REST client: messages of at most 2,000
// characters with allowed_mentions empty (an agent's answer pings
// nobody), edits for streaming, per-route rate-limit buckets and 429
// retry_after — behind channels.Channel.
package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/channels"
	"github.com/weftos/weftos/internal/clock"
)

// DefaultAPI is Discord's REST API.
const DefaultAPI = "https://discord.com/api/v10"

// MaxMessage is the longest message content.
const MaxMessage = 2000

// APIError is a REST error answer.
type APIError struct {
	Method, Path string
	Status       int
	Message      string
	RetryAfter   time.Duration
}

func (e *APIError) Error() string {
	return fmt.Sprintf("discord %s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
}

// Is makes a 401 match channels.ErrFatal.
func (e *APIError) Is(target error) bool {
	return target == channels.ErrFatal && e.Status == http.StatusUnauthorized
}

// REST is a Discord REST client with per-route rate-limit buckets.
type REST struct {
	base  string
	token string
	http  *http.Client
	clock clock.Clock

	mu      sync.Mutex
	blocked map[string]time.Time // route → when its bucket refills
}

// NewREST returns a client of the API at base (DefaultAPI when empty).
func NewREST(base, token string, hc *http.Client, clk clock.Clock) *REST {
	if base == "" {
		base = DefaultAPI
	}
	if hc == nil {
		hc = &http.Client{}
	}
	if clk == nil {
		clk = clock.Real{}
	}
	return &REST{base: strings.TrimRight(base, "/"), token: token, http: hc, clock: clk, blocked: map[string]time.Time{}}
}

// Do sends method path with body (JSON) and decodes the answer into out.
// route names the rate-limit bucket (method and major parameter). An empty
// bucket is waited for; a 429 is waited out (retry_after) up to 3 times.
func (r *REST) Do(ctx context.Context, route, method, path string, body, out any) error {
	for attempt := 0; ; attempt++ {
		r.mu.Lock()
		until := r.blocked[route]
		r.mu.Unlock()
		if d := until.Sub(r.clock.Now()); d > 0 && !clock.Sleep(ctx, r.clock, d) {
			return ctx.Err()
		}
		err := r.do(ctx, route, method, path, body, out)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || attempt >= 3 {
			return err
		}
		if !clock.Sleep(ctx, r.clock, max(ae.RetryAfter, 100*time.Millisecond)) {
			return ctx.Err()
		}
	}
}

func (r *REST) do(ctx context.Context, route, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bot "+r.token)
	req.Header.Set("User-Agent", "DiscordBot (https://github.com/weftos/weftos, 1)")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("discord %s %s: %w", method, path, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if secs, err := strconv.ParseFloat(resp.Header.Get("X-RateLimit-Reset-After"), 64); err == nil {
			r.mu.Lock()
			r.blocked[route] = r.clock.Now().Add(time.Duration(secs * float64(time.Second)))
			r.mu.Unlock()
		}
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode/100 != 2 {
		var e struct {
			Message    string  `json:"message"`
			RetryAfter float64 `json:"retry_after"`
			Global     bool    `json:"global"`
		}
		_ = json.Unmarshal(b, &e)
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		ae := &APIError{Method: method, Path: path, Status: resp.StatusCode, Message: e.Message,
			RetryAfter: time.Duration(e.RetryAfter * float64(time.Second))}
		if ae.RetryAfter == 0 {
			if secs, err := strconv.ParseFloat(resp.Header.Get("Retry-After"), 64); err == nil {
				ae.RetryAfter = time.Duration(secs * float64(time.Second))
			}
		}
		return ae
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, out)
}

// GatewayURL asks where the gateway is (GET /gateway/bot).
func (r *REST) GatewayURL(ctx context.Context) (string, error) {
	var g struct {
		URL string `json:"url"`
	}
	if err := r.Do(ctx, "gateway", http.MethodGet, "/gateway/bot", nil, &g); err != nil {
		return "", err
	}
	return g.URL, nil
}

// cdnHosts are where Discord serves attachments.
var cdnHosts = []string{"cdn.discordapp.com", "media.discordapp.net"}

// Download fetches an attachment's URL into w (at most limit+1 bytes are
// read; the caller's writer enforces the cap). Only Discord's CDN over
// https, or the configured API's own host, is fetched: an event cannot
// make the node request an arbitrary address.
func (r *REST) Download(ctx context.Context, rawURL string, w io.Writer, limit int64) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	base, _ := url.Parse(r.base)
	host := strings.ToLower(u.Hostname())
	cdn := u.Scheme == "https" && slices.Contains(cdnHosts, host)
	if !cdn && (base == nil || u.Scheme != base.Scheme || !strings.EqualFold(u.Host, base.Host)) {
		return fmt.Errorf("discord: refusing to fetch %s: not Discord's CDN", u.Redacted())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("discord download: %s", resp.Status)
	}
	_, err = io.Copy(w, io.LimitReader(resp.Body, limit+1))
	return err
}

// noMentions is allowed_mentions that lets a message ping nobody.
var noMentions = map[string]any{"parse": []string{}}

// Message is a posted message's identity.
type Message struct {
	ID        string `json:"id"`
	ChannelID string `json:"channel_id"`
}

// Send posts content (at most MaxMessage characters) in channel, as a
// reply to replyTo when set.
func (r *REST) Send(ctx context.Context, channel, content, replyTo string) (Message, error) {
	body := map[string]any{"content": content, "allowed_mentions": noMentions}
	if replyTo != "" {
		body["message_reference"] = map[string]any{"message_id": replyTo, "fail_if_not_exists": false}
	}
	var m Message
	return m, r.Do(ctx, "POST /channels/"+channel, http.MethodPost, "/channels/"+channel+"/messages", body, &m)
}

// Edit replaces a message's content.
func (r *REST) Edit(ctx context.Context, channel, id, content string) error {
	body := map[string]any{"content": content, "allowed_mentions": noMentions}
	return r.Do(ctx, "PATCH /channels/"+channel, http.MethodPatch, "/channels/"+channel+"/messages/"+id, body, nil)
}
