// Package slacktest is an in-process fake of Slack for tests, faithful to
// the wire: the Web API methods the channel uses (auth.test,
// apps.connections.open, chat.postMessage, chat.update — form or JSON
// bodies, Bearer tokens, {"ok":false,"error"} answers, 429 with
// Retry-After) and a Socket Mode WebSocket that says hello, delivers
// events_api envelopes, records acknowledgements, pings, redelivers an
// envelope (retry_attempt), and asks for a refresh with a disconnect
// message.
package slacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Identities of the fake workspace.
const (
	BotUser = "UBOT"
	BotID   = "BBOT"
	Team    = "T1"
	AppID   = "A1"
)

// Posted is a message the app posted, with its updates.
type Posted struct {
	Channel, TS, Thread, Text string
	Updates                   int
	At                        time.Time
}

// Call is a Web API call answered.
type Call struct {
	Method string
	Status int
	At     time.Time
}

// Server is the fake. Safe for concurrent use.
type Server struct {
	URL      string // the Web API base, ending in "/api/"
	BotToken string
	AppToken string
	srv      *httptest.Server

	mu        sync.Mutex
	changed   chan struct{}
	posted    []Posted
	calls     []Call
	queue     []envelope // envelopes not yet sent over the socket
	acked     map[string]bool
	sent      []envelope
	limit     map[string]int // method → seconds of Retry-After for its next call
	conns     int            // Socket Mode connections opened
	disconn   chan struct{}  // closed to ask the live connection to refresh
	nextTS    int
	nextEvent int
	files     map[string][]byte
}

type envelope struct {
	ID      string          `json:"envelope_id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
	Accepts bool            `json:"accepts_response_payload"`
	Retry   int             `json:"retry_attempt"`
	Reason  string          `json:"retry_reason"`
}

// New starts a fake Slack for the bot and app tokens.
func New(botToken, appToken string) *Server {
	s := &Server{BotToken: botToken, AppToken: appToken, changed: make(chan struct{}), acked: map[string]bool{}, limit: map[string]int{},
		disconn: make(chan struct{}), nextTS: 100, nextEvent: 1}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.api)
	mux.HandleFunc("/link", s.link)
	mux.HandleFunc("GET /files/{id}/download/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		data, ok := s.files[r.PathValue("id")]
		s.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+s.BotToken || !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data)
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + "/api/"
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

func (s *Server) touch() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// EventCallback is the Events API body of a message event.
func EventCallback(eventID, channel, channelType, user, text, ts string) []byte {
	b, _ := json.Marshal(map[string]any{
		"token": "legacy", "team_id": Team, "api_app_id": AppID, "type": "event_callback", "event_id": eventID,
		"event_time": time.Now().Unix(), "authorizations": []any{},
		"event": map[string]any{"type": "message", "channel": channel, "channel_type": channelType, "user": user, "text": text,
			"ts": ts, "event_ts": ts},
	})
	return b
}

// SayFile queues a file_share message event whose file (served by the fake
// to the bot token at url_private_download) holds data.
func (s *Server) SayFile(channel, channelType, user, text, name, mime string, data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextEvent++
	id := fmt.Sprintf("F%d", s.nextEvent)
	if s.files == nil {
		s.files = map[string][]byte{}
	}
	s.files[id] = data
	ts := fmt.Sprintf("1700000000.%06d", s.nextEvent)
	file := map[string]any{"id": id, "name": name, "mimetype": mime, "size": len(data),
		"url_private_download": s.srv.URL + "/files/" + id + "/download/" + name}
	b, _ := json.Marshal(map[string]any{
		"token": "legacy", "team_id": Team, "api_app_id": AppID, "type": "event_callback", "event_id": fmt.Sprintf("Ev%d", s.nextEvent),
		"event_time": time.Now().Unix(), "authorizations": []any{},
		"event": map[string]any{"type": "message", "subtype": "file_share", "channel": channel, "channel_type": channelType, "user": user,
			"text": text, "ts": ts, "event_ts": ts, "files": []any{file}},
	})
	env := envelope{ID: fmt.Sprintf("env-%d", s.nextEvent), Type: "events_api", Payload: b}
	s.queue = append(s.queue, env)
	s.touch()
	return env.ID
}

// Say queues a message event from user in channel (channelType "im" for
// a DM, "channel" otherwise) for delivery over Socket Mode; it returns the
// envelope id.
func (s *Server) Say(channel, channelType, user, text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextEvent++
	ts := fmt.Sprintf("1700000000.%06d", s.nextEvent)
	env := envelope{ID: fmt.Sprintf("env-%d", s.nextEvent), Type: "events_api",
		Payload: EventCallback(fmt.Sprintf("Ev%d", s.nextEvent), channel, channelType, user, text, ts)}
	s.queue = append(s.queue, env)
	s.touch()
	return env.ID
}

// Redeliver sends envelope id again, as Slack does when it was not
// acknowledged in time (retry_attempt 1, same event id).
func (s *Server) Redeliver(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.sent {
		if e.ID == id {
			e.Retry, e.Reason = 1, "timeout"
			s.queue = append(s.queue, e)
			s.touch()
			return
		}
	}
}

// RateLimit makes the next call of method answer 429 with Retry-After.
func (s *Server) RateLimit(method string, seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit[method] = seconds
}

// Refresh asks the live Socket Mode connection to reconnect (a disconnect
// message with reason refresh_requested).
func (s *Server) Refresh() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.disconn)
	s.disconn = make(chan struct{})
}

// State is what WaitFor sees.
type State struct {
	Posted      []Posted
	Calls       []Call
	Acked       map[string]bool
	Connections int
}

// WaitFor waits until cond holds (checked at every change) or ctx ends.
func (s *Server) WaitFor(ctx context.Context, cond func(State) bool) (State, error) {
	for {
		s.mu.Lock()
		st := State{Posted: append([]Posted(nil), s.posted...), Calls: append([]Call(nil), s.calls...), Acked: map[string]bool{}, Connections: s.conns}
		for k, v := range s.acked {
			st.Acked[k] = v
		}
		ch := s.changed
		s.mu.Unlock()
		if cond(st) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("slacktest: %w (%d posted, %d connections)", ctx.Err(), len(st.Posted), st.Connections)
		case <-ch:
		}
	}
}

// In returns the messages posted in channel.
func In(p []Posted, channel string) []Posted {
	var out []Posted
	for _, m := range p {
		if m.Channel == channel {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) answer(w http.ResponseWriter, method string, status int, v any) {
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: method, Status: status, At: time.Now()})
	s.touch()
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	if r.Method != http.MethodPost {
		s.answer(w, method, http.StatusMethodNotAllowed, map[string]any{"ok": false, "error": "method_not_allowed"})
		return
	}
	vals := url.Values{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		for k, v := range m {
			vals.Set(k, fmt.Sprint(v))
		}
	} else {
		_ = r.ParseForm()
		vals = r.PostForm
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" {
		token = vals.Get("token")
	}
	want := s.BotToken
	if method == "apps.connections.open" {
		want = s.AppToken
	}
	if token != want {
		s.answer(w, method, 200, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	s.mu.Lock()
	if secs, ok := s.limit[method]; ok {
		delete(s.limit, method)
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.answer(w, method, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
		return
	}
	s.mu.Unlock()
	switch method {
	case "auth.test":
		s.answer(w, method, 200, map[string]any{"ok": true, "url": "https://fake.slack.com/", "team": "Fake", "user": "weft",
			"team_id": Team, "user_id": BotUser, "bot_id": BotID})
	case "apps.connections.open":
		s.answer(w, method, 200, map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/link"})
	case "chat.postMessage":
		ch, text := vals.Get("channel"), vals.Get("text")
		if ch == "" || strings.TrimSpace(text) == "" {
			s.answer(w, method, 200, map[string]any{"ok": false, "error": "no_text"})
			return
		}
		s.mu.Lock()
		s.nextTS++
		ts := fmt.Sprintf("1800000000.%06d", s.nextTS)
		s.posted = append(s.posted, Posted{Channel: ch, TS: ts, Thread: vals.Get("thread_ts"), Text: text, At: time.Now()})
		s.mu.Unlock()
		s.answer(w, method, 200, map[string]any{"ok": true, "channel": ch, "ts": ts, "message": map[string]any{"text": text, "user": BotUser, "ts": ts}})
	case "chat.update":
		ch, ts, text := vals.Get("channel"), vals.Get("ts"), vals.Get("text")
		s.mu.Lock()
		found := false
		for i := range s.posted {
			if s.posted[i].Channel == ch && s.posted[i].TS == ts {
				s.posted[i].Text = text
				s.posted[i].Updates++
				found = true
			}
		}
		s.mu.Unlock()
		if !found {
			s.answer(w, method, 200, map[string]any{"ok": false, "error": "message_not_found"})
			return
		}
		s.answer(w, method, 200, map[string]any{"ok": true, "channel": ch, "ts": ts, "text": text})
	default:
		s.answer(w, method, 200, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

// link is the Socket Mode WebSocket.
func (s *Server) link(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	s.mu.Lock()
	s.conns++
	refresh := s.disconn
	s.touch()
	s.mu.Unlock()
	write := func(v any) error {
		b, _ := json.Marshal(v)
		return c.Write(ctx, websocket.MessageText, b)
	}
	if write(map[string]any{"type": "hello", "num_connections": 1, "connection_info": map[string]any{"app_id": AppID},
		"debug_info": map[string]any{"host": "fake", "approximate_connection_time": 18060}}) != nil {
		return
	}
	go func() { // acknowledgements
		defer cancel()
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			var ack struct {
				EnvelopeID string `json:"envelope_id"`
			}
			if json.Unmarshal(b, &ack) == nil && ack.EnvelopeID != "" {
				s.mu.Lock()
				s.acked[ack.EnvelopeID] = true
				s.touch()
				s.mu.Unlock()
			}
		}
	}()
	ping := time.NewTicker(200 * time.Millisecond)
	defer ping.Stop()
	for {
		s.mu.Lock()
		q := s.queue
		s.queue = nil
		s.sent = append(s.sent, q...)
		ch := s.changed
		s.mu.Unlock()
		for _, e := range q {
			if write(e) != nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		case <-ping.C:
			pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
			err := c.Ping(pctx)
			pcancel()
			if err != nil {
				return
			}
		case <-refresh:
			_ = write(map[string]any{"type": "disconnect", "reason": "refresh_requested", "debug_info": map[string]any{"host": "fake"}})
			_ = c.Close(websocket.StatusNormalClosure, "")
			return
		}
	}
}
