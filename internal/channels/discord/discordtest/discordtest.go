// Package discordtest is an in-process fake of Discord for tests, faithful
// to the wire: REST under /api/v10 (GET /gateway/bot, POST and PATCH
// channel messages with "Authorization: Bot TOKEN", 401 for a bad token,
// 429 with {"retry_after"} and X-RateLimit headers, 2,000-character
// content) and a gateway WebSocket speaking JSON payloads {op,d,s,t}:
// HELLO with a heartbeat interval, IDENTIFY (token and intents checked;
// 4004 and 4014 close codes), READY, heartbeat ACKs (which can be
// dropped), RESUME replaying the events after the client's sequence, op 1
// heartbeat requests, op 7 RECONNECT, op 9 INVALID_SESSION and arbitrary
// close codes.
package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// BotUser is the fake bot's own user.
var BotUser = User{ID: "900", Username: "weft", Bot: true}

// User is a Discord user.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Bot      bool   `json:"bot,omitempty"`
}

// Posted is a message the bot posted, with its edits.
type Posted struct {
	Channel, ID, Content, ReplyTo string
	Edits                         int
	MentionsParsed                []string // allowed_mentions.parse as sent (nil when absent)
	At                            time.Time
}

// Call is a REST call answered.
type Call struct {
	Method, Path string
	Status       int
	At           time.Time
}

// State is what WaitFor sees.
type State struct {
	Posted     []Posted
	Calls      []Call
	Identifies int
	Resumes    []int64 // the seq of each RESUME
	Heartbeats int
	Connects   int
}

type event struct {
	seq      int64
	t        string
	data     any
	internal bool // READY, RESUMED: not replayed
}

// Server is the fake. Safe for concurrent use.
type Server struct {
	URL     string // REST base, ending in /api/v10
	Token   string
	Intents int
	// Interval is the heartbeat interval HELLO announces (default 100 ms).
	Interval time.Duration
	srv      *httptest.Server

	mu      sync.Mutex
	changed chan struct{}
	st      State
	log     []event // every dispatch of the session, for RESUME
	seq     int64
	session string
	zombie  bool
	control chan func(c *websocket.Conn, ctx context.Context) // actions for the live connection
	limits  map[string]float64
	nextID  int
	files   map[string][]byte
}

// New starts a fake Discord for token, requiring intents.
func New(token string, intents int) *Server {
	s := &Server{Token: token, Intents: intents, Interval: 100 * time.Millisecond, changed: make(chan struct{}),
		control: make(chan func(*websocket.Conn, context.Context), 16), limits: map[string]float64{}, nextID: 1000}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v10/", s.rest)
	mux.HandleFunc("/gateway", s.gateway)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + "/api/v10"
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

func (s *Server) touch() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitFor waits until cond holds (checked at every change) or ctx ends.
func (s *Server) WaitFor(ctx context.Context, cond func(State) bool) (State, error) {
	for {
		s.mu.Lock()
		st := s.st
		st.Posted = append([]Posted(nil), s.st.Posted...)
		st.Calls = append([]Call(nil), s.st.Calls...)
		st.Resumes = append([]int64(nil), s.st.Resumes...)
		ch := s.changed
		s.mu.Unlock()
		if cond(st) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("discordtest: %w (%d posted, %d identifies, %d resumes)", ctx.Err(), len(st.Posted), st.Identifies, len(st.Resumes))
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

// Say dispatches MESSAGE_CREATE from author in channel (guild "" for a
// DM), mentioning the users given.
func (s *Server) Say(channel, guild string, author User, content string, mentions ...User) {
	s.mu.Lock()
	s.nextID++
	m := map[string]any{"id": strconv.Itoa(s.nextID), "channel_id": channel, "author": author, "content": content,
		"mentions": append([]User{}, mentions...), "type": 0}
	if guild != "" {
		m["guild_id"] = guild
	}
	s.mu.Unlock()
	s.dispatch("MESSAGE_CREATE", m)
}

// SayFile dispatches MESSAGE_CREATE with one attachment holding data,
// served by the fake (as Discord's CDN would).
func (s *Server) SayFile(channel, guild string, author User, content, name, mime string, data []byte) {
	s.mu.Lock()
	s.nextID++
	id := strconv.Itoa(s.nextID)
	if s.files == nil {
		s.files = map[string][]byte{}
	}
	s.files[id] = data
	m := map[string]any{"id": id, "channel_id": channel, "author": author, "content": content, "mentions": []User{}, "type": 0,
		"attachments": []map[string]any{{"id": id, "filename": name, "content_type": mime, "size": len(data),
			"url": s.srv.URL + "/api/v10/attachments/" + id + "/" + name}}}
	if guild != "" {
		m["guild_id"] = guild
	}
	s.mu.Unlock()
	s.dispatch("MESSAGE_CREATE", m)
}

// dispatch logs an event of the session: the live connection sends it,
// and a RESUME after an earlier sequence replays it.
func (s *Server) dispatch(t string, data any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.log = append(s.log, event{seq: s.seq, t: t, data: data})
	s.touch()
}

// Zombie makes the live connection go silent (true): no heartbeat ACKs,
// no events — as a dead TCP path looks to a client — until a new
// connection is made, which ends it.
func (s *Server) Zombie() {
	s.mu.Lock()
	s.zombie = true
	s.mu.Unlock()
}

// Reconnect sends op 7 RECONNECT.
func (s *Server) Reconnect() {
	s.control <- func(c *websocket.Conn, ctx context.Context) { _ = send(ctx, c, 7, nil, nil, "") }
}

// InvalidSession sends op 9 with d = resumable.
func (s *Server) InvalidSession(resumable bool) {
	s.control <- func(c *websocket.Conn, ctx context.Context) {
		if !resumable {
			s.mu.Lock()
			s.session = ""
			s.mu.Unlock()
		}
		_ = send(ctx, c, 9, resumable, nil, "")
	}
}

// CloseWith closes the live connection with code.
func (s *Server) CloseWith(code int) {
	s.control <- func(c *websocket.Conn, ctx context.Context) {
		_ = c.Close(websocket.StatusCode(code), "closed by the test")
	}
}

// RequestHeartbeat sends op 1.
func (s *Server) RequestHeartbeat() {
	s.control <- func(c *websocket.Conn, ctx context.Context) { _ = send(ctx, c, 1, nil, nil, "") }
}

// RateLimit makes the next message POST answer 429 with retry_after.
func (s *Server) RateLimit(seconds float64) {
	s.mu.Lock()
	s.limits["POST"] = seconds
	s.mu.Unlock()
}

func send(ctx context.Context, c *websocket.Conn, op int, d any, seq *int64, t string) error {
	p := map[string]any{"op": op, "d": d, "s": nil, "t": nil}
	if seq != nil {
		p["s"], p["t"] = *seq, t
	}
	b, _ := json.Marshal(p)
	return c.Write(ctx, websocket.MessageText, b)
}

func (s *Server) call(w http.ResponseWriter, r *http.Request, status int, v any) {
	s.mu.Lock()
	s.st.Calls = append(s.st.Calls, Call{Method: r.Method, Path: r.URL.Path, Status: status, At: time.Now()})
	s.touch()
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) rest(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/v10/attachments/"); ok && r.Method == http.MethodGet {
		id, _, _ := strings.Cut(rest, "/")
		s.mu.Lock()
		data, found := s.files[id]
		s.mu.Unlock()
		if !found {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data) // a CDN: no authorization
		return
	}
	if r.Header.Get("Authorization") != "Bot "+s.Token {
		s.call(w, r, http.StatusUnauthorized, map[string]any{"message": "401: Unauthorized", "code": 0})
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/api/v10")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && path == "/gateway/bot":
		s.call(w, r, 200, map[string]any{"url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/gateway", "shards": 1,
			"session_start_limit": map[string]int{"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})
	case len(parts) >= 3 && parts[0] == "channels" && parts[2] == "messages":
		var body struct {
			Content         string `json:"content"`
			AllowedMentions *struct {
				Parse []string `json:"parse"`
			} `json:"allowed_mentions"`
			Reference *struct {
				MessageID string `json:"message_id"`
			} `json:"message_reference"`
		}
		if json.NewDecoder(r.Body).Decode(&body) != nil {
			s.call(w, r, 400, map[string]any{"message": "400: Bad Request", "code": 50109})
			return
		}
		s.mu.Lock()
		if secs, ok := s.limits[r.Method]; ok {
			delete(s.limits, r.Method)
			s.mu.Unlock()
			w.Header().Set("X-RateLimit-Limit", "5")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset-After", strconv.FormatFloat(secs, 'f', 3, 64))
			w.Header().Set("X-RateLimit-Bucket", "fakebucket")
			w.Header().Set("Retry-After", strconv.Itoa(int(secs+0.999)))
			s.call(w, r, http.StatusTooManyRequests, map[string]any{"message": "You are being rate limited.", "retry_after": secs, "global": false})
			return
		}
		s.mu.Unlock()
		if n := len([]rune(body.Content)); n == 0 || n > 2000 {
			s.call(w, r, 400, map[string]any{"message": "Invalid Form Body", "code": 50035,
				"errors": map[string]any{"content": map[string]any{"_errors": []map[string]string{{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}}}}})
			return
		}
		var parsed []string
		if body.AllowedMentions != nil {
			parsed = append([]string{}, body.AllowedMentions.Parse...)
		}
		s.mu.Lock()
		switch {
		case r.Method == http.MethodPost && len(parts) == 3:
			s.nextID++
			p := Posted{Channel: parts[1], ID: strconv.Itoa(s.nextID), Content: body.Content, MentionsParsed: parsed, At: time.Now()}
			if body.Reference != nil {
				p.ReplyTo = body.Reference.MessageID
			}
			s.st.Posted = append(s.st.Posted, p)
			s.mu.Unlock()
			s.call(w, r, 200, map[string]any{"id": p.ID, "channel_id": p.Channel, "content": p.Content, "author": BotUser})
		case r.Method == http.MethodPatch && len(parts) == 4:
			found := false
			for i := range s.st.Posted {
				if s.st.Posted[i].Channel == parts[1] && s.st.Posted[i].ID == parts[3] {
					s.st.Posted[i].Content = body.Content
					s.st.Posted[i].Edits++
					found = true
				}
			}
			s.mu.Unlock()
			if !found {
				s.call(w, r, 404, map[string]any{"message": "Unknown Message", "code": 10008})
				return
			}
			s.call(w, r, 200, map[string]any{"id": parts[3], "channel_id": parts[1], "content": body.Content})
		default:
			s.mu.Unlock()
			s.call(w, r, 405, map[string]any{"message": "405: Method Not Allowed", "code": 0})
		}
	default:
		s.call(w, r, 404, map[string]any{"message": "404: Not Found", "code": 0})
	}
}

// gateway serves one gateway connection.
func (s *Server) gateway(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("v") != "10" || r.URL.Query().Get("encoding") != "json" {
		http.Error(w, "bad version or encoding", http.StatusBadRequest)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	s.mu.Lock()
	s.st.Connects++
	s.touch()
	s.mu.Unlock()
	if send(ctx, c, 10, map[string]any{"heartbeat_interval": s.Interval.Milliseconds()}, nil, "") != nil {
		return
	}
	frames := make(chan map[string]json.RawMessage)
	go func() {
		defer cancel()
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			var f map[string]json.RawMessage
			if json.Unmarshal(b, &f) != nil {
				_ = c.Close(4002, "Decode error")
				return
			}
			select {
			case frames <- f:
			case <-ctx.Done():
				return
			}
		}
	}()
	ready := false
	var cursor int64 // the last sequence sent on this connection
	s.mu.Lock()
	s.zombie = false
	s.mu.Unlock()
	for {
		s.mu.Lock()
		var out []event
		if ready && !s.zombie {
			for _, e := range s.log {
				if e.seq > cursor && !e.internal {
					out = append(out, e)
				}
			}
		}
		changed := s.changed
		s.mu.Unlock()
		for _, e := range out {
			if send(ctx, c, 0, e.data, &e.seq, e.t) != nil {
				return
			}
			cursor = e.seq
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case act := <-s.control:
			act(c, ctx)
		case f := <-frames:
			var op int
			_ = json.Unmarshal(f["op"], &op)
			switch op {
			case 1:
				s.mu.Lock()
				s.st.Heartbeats++
				silent := s.zombie
				s.touch()
				s.mu.Unlock()
				if !silent {
					_ = send(ctx, c, 11, nil, nil, "")
				}
			case 2:
				var d struct {
					Token   string `json:"token"`
					Intents int    `json:"intents"`
				}
				_ = json.Unmarshal(f["d"], &d)
				if d.Token != s.Token {
					_ = c.Close(4004, "Authentication failed.")
					return
				}
				if d.Intents&s.Intents != s.Intents {
					_ = c.Close(4014, "Disallowed intent(s).")
					return
				}
				s.mu.Lock()
				s.st.Identifies++
				s.session = fmt.Sprintf("sess-%d", s.st.Identifies)
				s.seq = 1
				s.log = []event{{seq: 1, t: "READY", internal: true}}
				sess := s.session
				s.touch()
				s.mu.Unlock()
				seq := int64(1)
				_ = send(ctx, c, 0, map[string]any{"v": 10, "session_id": sess, "user": BotUser,
					"resume_gateway_url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/gateway", "guilds": []any{}}, &seq, "READY")
				ready, cursor = true, 1
			case 6:
				var d struct {
					Token     string `json:"token"`
					SessionID string `json:"session_id"`
					Seq       int64  `json:"seq"`
				}
				_ = json.Unmarshal(f["d"], &d)
				s.mu.Lock()
				s.st.Resumes = append(s.st.Resumes, d.Seq)
				ok := d.Token == s.Token && d.SessionID != "" && d.SessionID == s.session && d.Seq <= s.seq
				var replay []event
				for _, e := range s.log {
					if e.seq > d.Seq && !e.internal {
						replay = append(replay, e)
					}
				}
				s.seq++
				seq := s.seq
				s.log = append(s.log, event{seq: seq, t: "RESUMED", internal: true})
				s.touch()
				s.mu.Unlock()
				if !ok {
					_ = send(ctx, c, 9, false, nil, "")
					continue
				}
				for _, e := range replay {
					_ = send(ctx, c, 0, e.data, &e.seq, e.t)
				}
				_ = send(ctx, c, 0, map[string]any{}, &seq, "RESUMED")
				ready, cursor = true, seq
			}
		}
	}
}
