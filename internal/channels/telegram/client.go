// Package telegram is the Telegram channel: a small Bot API client of its
// own (plain JSON over HTTPS) — getUpdates long polling with offset
// acknowledgement, sendMessage chunked at 4,096 characters, answers
// streamed by throttled editMessageText, 429 retry_after honoured, 409
// conflicts handled (a webhook left active is removed; another poller is
// reported) — behind channels.Channel. The bot token is a secret: it is in
// every request path, so errors are scrubbed of it and it is never logged.
package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/channels"
	"github.com/weftos/weftos/internal/clip"
	"github.com/weftos/weftos/internal/clock"
)

// DefaultBaseURL is the Bot API's address.
const DefaultBaseURL = "https://api.telegram.org"

// MaxMessage is the longest text a message may carry (UTF-16 units).
const MaxMessage = 4096

// APIError is a Bot API error answer.
type APIError struct {
	Method      string
	Code        int
	Description string
	RetryAfter  time.Duration
}

func (e *APIError) Error() string {
	return fmt.Sprintf("telegram %s: %d %s", e.Method, e.Code, e.Description)
}

// Is makes a 401 or 404 (a token the Bot API does not know) match
// channels.ErrFatal: retrying cannot help.
func (e *APIError) Is(target error) bool {
	return target == channels.ErrFatal && (e.Code == http.StatusUnauthorized || e.Code == http.StatusNotFound)
}

// Client speaks the Bot API.
type Client struct {
	base  string
	token string
	http  *http.Client
	clock clock.Clock
	// MaxRetries bounds the 429 retries of one call.
	MaxRetries int
}

// NewClient returns a client of the Bot API at base (DefaultBaseURL when
// empty) for the bot token.
func NewClient(base, token string, hc *http.Client, clk clock.Clock) *Client {
	if base == "" {
		base = DefaultBaseURL
	}
	if hc == nil {
		hc = &http.Client{}
	}
	if clk == nil {
		clk = clock.Real{}
	}
	return &Client{base: strings.TrimRight(base, "/"), token: token, http: hc, clock: clk, MaxRetries: 3}
}

type response struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// Call invokes method with params (JSON) and decodes the result into out,
// waiting out 429 answers (retry_after) up to MaxRetries times.
func (c *Client) Call(ctx context.Context, method string, params, out any) error {
	for attempt := 0; ; attempt++ {
		err := c.call(ctx, method, params, out)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != http.StatusTooManyRequests || attempt >= c.MaxRetries {
			return err
		}
		wait := max(ae.RetryAfter, time.Second)
		if !clock.Sleep(ctx, c.clock, wait) {
			return ctx.Err()
		}
	}
}

func (c *Client) call(ctx context.Context, method string, params, out any) error {
	body, err := json.Marshal(params)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/bot"+c.token+"/"+method, bytes.NewReader(body))
	if err != nil {
		return c.scrub(method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return c.scrub(method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return c.scrub(method, err)
	}
	var r response
	if err := json.Unmarshal(b, &r); err != nil {
		return &APIError{Method: method, Code: resp.StatusCode, Description: "unreadable answer: " + short(string(b))}
	}
	if !r.OK {
		e := &APIError{Method: method, Code: r.ErrorCode, Description: c.redact(r.Description)}
		if e.Code == 0 {
			e.Code = resp.StatusCode
		}
		if r.Parameters != nil && r.Parameters.RetryAfter > 0 {
			e.RetryAfter = time.Duration(r.Parameters.RetryAfter) * time.Second
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(r.Result, out); err != nil {
		return fmt.Errorf("telegram %s: decoding the result: %w", method, err)
	}
	return nil
}

// scrub turns a transport error into one that does not carry the token
// (url.Error quotes the request URL, which holds it).
func (c *Client) scrub(method string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("telegram %s: %w", method, errors.Unwrap(err))
	}
	return fmt.Errorf("telegram %s: %s", method, c.redact(err.Error()))
}

func (c *Client) redact(s string) string {
	if c.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.token, "<token>")
}

func short(s string) string {
	return clip.Ellipsis(s, 200)
}

// Wire types (the fields WeftOS reads).
type (
	// User is a Telegram user or bot.
	User struct {
		ID        int64  `json:"id"`
		IsBot     bool   `json:"is_bot"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name,omitempty"`
		Username  string `json:"username,omitempty"`
	}
	// Chat is where a message was sent.
	Chat struct {
		ID    int64  `json:"id"`
		Type  string `json:"type"` // private, group, supergroup, channel
		Title string `json:"title,omitempty"`
	}
	// Entity marks a span of a message's text (offsets in UTF-16 units).
	Entity struct {
		Type   string `json:"type"`
		Offset int    `json:"offset"`
		Length int    `json:"length"`
		User   *User  `json:"user,omitempty"`
	}
	// Message is a message.
	Message struct {
		MessageID       int64       `json:"message_id"`
		From            *User       `json:"from,omitempty"`
		Chat            Chat        `json:"chat"`
		Date            int64       `json:"date"`
		Text            string      `json:"text,omitempty"`
		Entities        []Entity    `json:"entities,omitempty"`
		Caption         string      `json:"caption,omitempty"`
		CaptionEntities []Entity    `json:"caption_entities,omitempty"`
		Document        *Document   `json:"document,omitempty"`
		Photo           []PhotoSize `json:"photo,omitempty"`
		ReplyTo         *Message    `json:"reply_to_message,omitempty"`
	}
	// Document is a file sent as a document.
	Document struct {
		FileID   string `json:"file_id"`
		FileName string `json:"file_name,omitempty"`
		MIMEType string `json:"mime_type,omitempty"`
		FileSize int64  `json:"file_size,omitempty"`
	}
	// PhotoSize is one size of a photo (the last is the largest).
	PhotoSize struct {
		FileID   string `json:"file_id"`
		Width    int    `json:"width"`
		Height   int    `json:"height"`
		FileSize int64  `json:"file_size,omitempty"`
	}
	// File is what getFile says of a file: where to download it.
	File struct {
		FileID   string `json:"file_id"`
		FileSize int64  `json:"file_size,omitempty"`
		FilePath string `json:"file_path,omitempty"`
	}
	// Update is one getUpdates item.
	Update struct {
		UpdateID int64    `json:"update_id"`
		Message  *Message `json:"message,omitempty"`
	}
)

// GetMe returns the bot's own user.
func (c *Client) GetMe(ctx context.Context) (User, error) {
	var u User
	return u, c.Call(ctx, "getMe", struct{}{}, &u)
}

// GetUpdates long-polls for updates from offset, waiting up to timeout.
func (c *Client) GetUpdates(ctx context.Context, offset int64, timeout time.Duration) ([]Update, error) {
	var ups []Update
	p := map[string]any{"offset": offset, "timeout": int(timeout / time.Second), "allowed_updates": []string{"message"}}
	return ups, c.Call(ctx, "getUpdates", p, &ups)
}

// DeleteWebhook removes a webhook so that getUpdates works; pending
// updates are kept.
func (c *Client) DeleteWebhook(ctx context.Context) error {
	return c.Call(ctx, "deleteWebhook", map[string]any{"drop_pending_updates": false}, nil)
}

// Download writes the file with id to w, at most limit bytes: getFile,
// then GET /file/bot<token>/<file_path>. A file larger than limit fails
// before its bytes are fetched when Telegram knows its size.
func (c *Client) Download(ctx context.Context, id string, w io.Writer, limit int64) error {
	var f File
	if err := c.Call(ctx, "getFile", map[string]any{"file_id": id}, &f); err != nil {
		return err
	}
	if f.FileSize > limit {
		return fmt.Errorf("telegram: file of %d bytes, over the %d-byte cap", f.FileSize, limit)
	}
	if f.FilePath == "" {
		return errors.New("telegram: getFile gave no file_path")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/file/bot"+c.token+"/"+f.FilePath, nil)
	if err != nil {
		return c.scrub("download", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.scrub("download", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("telegram download: %s", resp.Status)
	}
	_, err = io.Copy(w, io.LimitReader(resp.Body, limit+1))
	return err
}
