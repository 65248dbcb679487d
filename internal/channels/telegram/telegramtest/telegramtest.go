// Package telegramtest is an in-process fake of the Telegram Bot API for
// tests, faithful to its wire format: POST /bot<token>/<method> with a JSON
// body, answers {"ok":true,"result":…} or {"ok":false,"error_code",
// "description","parameters":{"retry_after"}}. getUpdates long-polls (it
// blocks until an update arrives or its timeout passes) and treats every
// update below the offset as confirmed; a second concurrent poll ends the
// first with 409; a webhook set with SetWebhook makes getUpdates answer 409
// until deleteWebhook; sendMessage refuses empty texts and texts over 4,096
// UTF-16 units; editMessageText refuses an unchanged text ("message is not
// modified"); Fail scripts errors such as 429 with retry_after.
package telegramtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
)

// Bot is the fake bot's own user.
var Bot = User{ID: 4242, IsBot: true, FirstName: "Weft", Username: "weft_bot"}

// Wire types, as the Bot API writes them.
type (
	User struct {
		ID        int64  `json:"id"`
		IsBot     bool   `json:"is_bot"`
		FirstName string `json:"first_name"`
		Username  string `json:"username,omitempty"`
	}
	Chat struct {
		ID   int64  `json:"id"`
		Type string `json:"type"`
	}
	Entity struct {
		Type   string `json:"type"`
		Offset int    `json:"offset"`
		Length int    `json:"length"`
	}
	Message struct {
		MessageID int64     `json:"message_id"`
		From      *User     `json:"from,omitempty"`
		Chat      Chat      `json:"chat"`
		Date      int64     `json:"date"`
		Text      string    `json:"text,omitempty"`
		Entities  []Entity  `json:"entities,omitempty"`
		Caption   string    `json:"caption,omitempty"`
		Document  *Document `json:"document,omitempty"`
	}
	Document struct {
		FileID   string `json:"file_id"`
		FileName string `json:"file_name,omitempty"`
		MIMEType string `json:"mime_type,omitempty"`
		FileSize int64  `json:"file_size,omitempty"`
	}
	Update struct {
		UpdateID int64    `json:"update_id"`
		Message  *Message `json:"message,omitempty"`
	}
)

// Sent is a message the bot sent, with its later edits.
type Sent struct {
	Chat  int64
	ID    int64
	Text  string // current text
	Edits int
	At    time.Time
}

// Call is a method call the fake answered.
type Call struct {
	Method string
	Status int
	At     time.Time
}

// Failure is a scripted error answer.
type Failure struct {
	Code        int
	Description string
	RetryAfter  int
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	URL                 string
	Token               string
	hookURL, hookSecret string // what setWebhook registered
	files               map[string][]byte
	srv                 *httptest.Server

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced at every change
	updates  []Update
	nextUpd  int64
	nextMsg  int64
	sent     []Sent
	calls    []Call
	fail     map[string][]Failure
	webhook  bool
	poll     context.CancelFunc // ends the poll in progress with 409
	pollGen  int
	closing  chan struct{}
	closeOne sync.Once
}

// New starts a fake Bot API for token.
func New(token string) *Server {
	s := &Server{Token: token, changed: make(chan struct{}), nextUpd: 100, nextMsg: 1, fail: map[string][]Failure{}, closing: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server (blocked polls end).
func (s *Server) Close() {
	s.closeOne.Do(func() { close(s.closing) })
	s.srv.Close()
}

func (s *Server) touch() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Say delivers a text message from a user in chat (entities: mentions).
func (s *Server) Say(chat Chat, from User, text string, entities ...Entity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &Message{MessageID: s.nextMsg, From: &from, Chat: chat, Date: time.Now().Unix(), Text: text, Entities: entities}
	s.nextMsg++
	s.updates = append(s.updates, Update{UpdateID: s.nextUpd, Message: m})
	s.nextUpd++
	s.touch()
}

// UpdateJSON is the body Telegram POSTs to a webhook for a text message.
func UpdateJSON(updateID int64, chat Chat, from User, text string) []byte {
	b, _ := json.Marshal(Update{UpdateID: updateID, Message: &Message{MessageID: updateID, From: &from, Chat: chat, Date: time.Now().Unix(), Text: text}})
	return b
}

// Hook returns what setWebhook registered.
func (s *Server) Hook() (url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hookURL, s.hookSecret
}

// SayDocument delivers a document with a caption. size is what Telegram
// reports (0: the data's length), so a test can make it lie.
func (s *Server) SayDocument(chat Chat, from User, caption, name, mime string, data []byte, size int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files == nil {
		s.files = map[string][]byte{}
	}
	id := fmt.Sprintf("file%d", s.nextMsg)
	s.files[id] = data
	if size == 0 {
		size = int64(len(data))
	}
	m := &Message{MessageID: s.nextMsg, From: &from, Chat: chat, Date: time.Now().Unix(), Caption: caption,
		Document: &Document{FileID: id, FileName: name, MIMEType: mime, FileSize: size}}
	s.nextMsg++
	s.updates = append(s.updates, Update{UpdateID: s.nextUpd, Message: m})
	s.nextUpd++
	s.touch()
}

// Mention is the entity of "@weft_bot" at the start of a text.
func Mention() Entity {
	return Entity{Type: "mention", Offset: 0, Length: len(utf16.Encode([]rune("@" + Bot.Username)))}
}

// Fail makes the next call of method answer f (queued in order).
func (s *Server) Fail(method string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[method] = append(s.fail[method], f)
}

// SetWebhook makes getUpdates answer 409 until deleteWebhook is called.
func (s *Server) SetWebhook() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook = true
}

// Pending is the number of updates not yet confirmed by an offset.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates)
}

// WaitConfirmed waits until every update has been confirmed by an offset.
func (s *Server) WaitConfirmed(ctx context.Context) error {
	for {
		s.mu.Lock()
		n, ch := len(s.updates), s.changed
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("telegramtest: %w; %d updates unconfirmed", ctx.Err(), n)
		case <-ch:
		}
	}
}

// Calls returns the calls answered so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// WaitFor waits until cond holds over the messages sent so far (checked
// at every change) or ctx ends.
func (s *Server) WaitFor(ctx context.Context, cond func(sent []Sent) bool) ([]Sent, error) {
	for {
		s.mu.Lock()
		sent := append([]Sent(nil), s.sent...)
		ch := s.changed
		s.mu.Unlock()
		if cond(sent) {
			return sent, nil
		}
		select {
		case <-ctx.Done():
			return sent, fmt.Errorf("telegramtest: %w; %d messages sent so far", ctx.Err(), len(sent))
		case <-ch:
		}
	}
}

// To returns the messages sent to chat.
func To(sent []Sent, chat int64) []Sent {
	var out []Sent
	for _, m := range sent {
		if m.Chat == chat {
			out = append(out, m)
		}
	}
	return out
}

type answer struct {
	OK          bool   `json:"ok"`
	Result      any    `json:"result,omitempty"`
	ErrorCode   int    `json:"error_code,omitempty"`
	Description string `json:"description,omitempty"`
	Parameters  any    `json:"parameters,omitempty"`
}

func (s *Server) reply(w http.ResponseWriter, method string, status int, a answer) {
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: method, Status: status, At: time.Now()})
	s.touch()
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(a)
}

func (s *Server) failWith(w http.ResponseWriter, method string, f Failure) {
	a := answer{ErrorCode: f.Code, Description: f.Description}
	if f.RetryAfter > 0 {
		a.Parameters = map[string]int{"retry_after": f.RetryAfter}
		if a.Description == "" {
			a.Description = fmt.Sprintf("Too Many Requests: retry after %d", f.RetryAfter)
		}
	}
	s.reply(w, method, f.Code, a)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/file/bot"+s.Token+"/documents/"); ok && r.Method == http.MethodGet {
		s.mu.Lock()
		data, found := s.files[rest]
		s.calls = append(s.calls, Call{Method: "download", Status: 200, At: time.Now()})
		s.mu.Unlock()
		if !found {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || r.Method != http.MethodPost {
		s.reply(w, method, http.StatusNotFound, answer{ErrorCode: 404, Description: "Not Found"})
		return
	}
	if token != s.Token {
		s.reply(w, method, http.StatusUnauthorized, answer{ErrorCode: 401, Description: "Unauthorized"})
		return
	}
	var p struct {
		Offset    int64  `json:"offset"`
		Timeout   int    `json:"timeout"`
		ChatID    int64  `json:"chat_id"`
		MessageID int64  `json:"message_id"`
		Text      string `json:"text"`
	}
	raw, _ := io.ReadAll(r.Body)
	if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(raw, &p) != nil {
		s.reply(w, method, http.StatusBadRequest, answer{ErrorCode: 400, Description: "Bad Request: invalid JSON body"})
		return
	}
	s.mu.Lock()
	if q := s.fail[method]; len(q) > 0 {
		s.fail[method] = q[1:]
		s.mu.Unlock()
		s.failWith(w, method, q[0])
		return
	}
	s.mu.Unlock()
	switch method {
	case "getMe":
		s.reply(w, method, 200, answer{OK: true, Result: Bot})
	case "setWebhook":
		var hp struct {
			URL    string `json:"url"`
			Secret string `json:"secret_token"`
		}
		_ = json.Unmarshal(raw, &hp)
		if !strings.HasPrefix(hp.URL, "https://") && !strings.HasPrefix(hp.URL, "http://127.0.0.1") {
			s.failWith(w, method, Failure{Code: 400, Description: "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"})
			return
		}
		s.mu.Lock()
		s.webhook, s.hookURL, s.hookSecret = true, hp.URL, hp.Secret
		s.mu.Unlock()
		s.reply(w, method, 200, answer{OK: true, Result: true, Description: "Webhook was set"})
	case "getFile":
		var fp struct {
			FileID string `json:"file_id"`
		}
		_ = json.Unmarshal(raw, &fp)
		s.mu.Lock()
		data, found := s.files[fp.FileID]
		s.mu.Unlock()
		if !found {
			s.failWith(w, method, Failure{Code: 400, Description: "Bad Request: invalid file_id"})
			return
		}
		s.reply(w, method, 200, answer{OK: true, Result: map[string]any{"file_id": fp.FileID, "file_unique_id": "u" + fp.FileID,
			"file_size": len(data), "file_path": "documents/" + fp.FileID}})
	case "deleteWebhook":
		s.mu.Lock()
		s.webhook = false
		s.mu.Unlock()
		s.reply(w, method, 200, answer{OK: true, Result: true})
	case "getUpdates":
		s.getUpdates(w, r, p.Offset, p.Timeout)
	case "sendMessage":
		if f, bad := checkText(p.Text); bad {
			s.failWith(w, method, f)
			return
		}
		s.mu.Lock()
		m := Message{MessageID: s.nextMsg, From: &Bot, Chat: Chat{ID: p.ChatID, Type: "private"}, Date: time.Now().Unix(), Text: p.Text}
		s.nextMsg++
		s.sent = append(s.sent, Sent{Chat: p.ChatID, ID: m.MessageID, Text: p.Text, At: time.Now()})
		s.mu.Unlock()
		s.reply(w, method, 200, answer{OK: true, Result: m})
	case "editMessageText":
		if f, bad := checkText(p.Text); bad {
			s.failWith(w, method, f)
			return
		}
		s.mu.Lock()
		i := -1
		for j, m := range s.sent {
			if m.Chat == p.ChatID && m.ID == p.MessageID {
				i = j
			}
		}
		switch {
		case i < 0:
			s.mu.Unlock()
			s.failWith(w, method, Failure{Code: 400, Description: "Bad Request: message to edit not found"})
		case s.sent[i].Text == p.Text:
			s.mu.Unlock()
			s.failWith(w, method, Failure{Code: 400, Description: "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"})
		default:
			s.sent[i].Text = p.Text
			s.sent[i].Edits++
			s.mu.Unlock()
			s.reply(w, method, 200, answer{OK: true, Result: true})
		}
	default:
		s.reply(w, method, http.StatusNotFound, answer{ErrorCode: 404, Description: "Not Found: method not found"})
	}
}

func checkText(text string) (Failure, bool) {
	switch n := len(utf16.Encode([]rune(text))); {
	case strings.TrimSpace(text) == "":
		return Failure{Code: 400, Description: "Bad Request: message text is empty"}, true
	case n > 4096:
		return Failure{Code: 400, Description: "Bad Request: message is too long"}, true
	}
	return Failure{}, false
}

// getUpdates confirms the updates below offset and answers the rest, or
// waits for one until timeout.
func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, offset int64, timeout int) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	s.mu.Lock()
	if s.webhook {
		s.mu.Unlock()
		s.failWith(w, "getUpdates", Failure{Code: 409, Description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"})
		return
	}
	if s.poll != nil {
		s.poll() // the earlier poll ends with 409
	}
	s.poll = cancel
	s.pollGen++
	gen := s.pollGen
	s.mu.Unlock()
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if offset > 0 {
			i := 0
			for i < len(s.updates) && s.updates[i].UpdateID < offset {
				i++
			}
			if i > 0 {
				s.updates = append([]Update(nil), s.updates[i:]...)
				s.touch()
			}
		}
		ups := append([]Update{}, s.updates...)
		ch := s.changed
		s.mu.Unlock()
		if len(ups) > 0 || timeout == 0 {
			s.endPoll(gen)
			s.reply(w, "getUpdates", 200, answer{OK: true, Result: ups})
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			timeout = 0
		case <-s.closing:
			return
		case <-ctx.Done():
			if r.Context().Err() == nil { // ended by a newer poll
				s.failWith(w, "getUpdates", Failure{Code: 409, Description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"})
			}
			return
		}
	}
}

func (s *Server) endPoll(gen int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen == s.pollGen {
		s.poll = nil
	}
}
