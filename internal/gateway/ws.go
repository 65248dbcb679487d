package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/channels"
)

// WebSocket protocol.
const (
	// Subprotocol is the WebSocket subprotocol of the channel.
	Subprotocol = "weft.v1"
	// tokenProtocolPrefix carries a token in Sec-WebSocket-Protocol for
	// browsers, which cannot set headers on a WebSocket (never in the URL,
	// where logs and referrers would keep it). It is never echoed back.
	tokenProtocolPrefix = "bearer."
	// maxFrame bounds a client frame.
	maxFrame = 64 << 10
)

// ClientFrame is what a WebSocket client sends: {"type":"message",
// "id":"…","text":"…"}. The id is echoed on every frame answering it.
type ClientFrame struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
	Text string `json:"text"`
}

// ServerFrame is what the gateway sends: "ready" once (the session and
// agent), then for each message the run's events — "start", "delta"
// (streamed tokens), "tool_call", "tool_result", "approval", "final" or
// "error" — as in the local API's run stream, with the message's id.
type ServerFrame struct {
	apitype.RunEvent
	ID      string `json:"id,omitempty"`
	Session string `json:"session,omitempty"`
	Agent   string `json:"agent,omitempty"`
}

// Frame errors.
var errFrame = errors.New("bad frame")

// ParseClientFrame decodes and checks one client frame.
func ParseClientFrame(b []byte) (ClientFrame, error) {
	var f ClientFrame
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("%w: %v", errFrame, err)
	}
	if dec.More() {
		return f, fmt.Errorf("%w: data after the frame", errFrame)
	}
	switch {
	case f.Type != "message":
		return f, fmt.Errorf("%w: unknown type %q (want \"message\")", errFrame, f.Type)
	case strings.TrimSpace(f.Text) == "":
		return f, fmt.Errorf("%w: empty text", errFrame)
	case len(f.ID) > 128:
		return f, fmt.Errorf("%w: id longer than 128 bytes", errFrame)
	}
	return f, nil
}

// wsCredential returns the token a WebSocket request carries and whether
// the client asked for the channel's subprotocol.
func wsCredential(r *http.Request) (string, bool) {
	secret := bearer(r)
	proto := false
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(h, ",") {
			p = strings.TrimSpace(p)
			if t, ok := strings.CutPrefix(p, tokenProtocolPrefix); ok && secret == "" {
				secret = t
			}
			proto = proto || p == Subprotocol
		}
	}
	return secret, proto
}

// handleWS serves the WebSocket channel: authenticated before the
// upgrade, origin-checked, one session per connection.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	secret, _ := wsCredential(r)
	t, ok := s.authenticate(w, secret, ScopeWS)
	if !ok {
		return
	}
	agents := s.agents(t)
	agent := strings.TrimPrefix(r.URL.Query().Get("agent"), ModelPrefix)
	if agent == "" && len(agents) > 0 {
		agent = agents[0]
	}
	if !slices.Contains(agents, agent) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "agent", "model_not_found", fmt.Sprintf("the token cannot reach agent %q", agent))
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}, OriginPatterns: s.opts.AllowedOrigins})
	if err != nil {
		s.opts.Log.Warn("websocket refused", "err", err, "origin", r.Header.Get("Origin"))
		return // Accept answered
	}
	defer c.CloseNow()
	c.SetReadLimit(maxFrame)
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	conn := &wsConn{s: s, c: c, token: t, agent: agent, session: channels.SessionName("ws", t.ID, "c"+randomHex(6))}
	conn.serve(ctx)
}

type wsConn struct {
	s       *Server
	c       *websocket.Conn
	token   Token
	agent   string
	session string
}

func (w *wsConn) write(ctx context.Context, f ServerFrame) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return w.c.Write(ctx, websocket.MessageText, b)
}

func (w *wsConn) fail(ctx context.Context, id, code, msg string) error {
	return w.write(ctx, ServerFrame{RunEvent: apitype.RunEvent{Type: apitype.RunError, Code: code, Message: msg}, ID: id})
}

// serve reads frames in one goroutine and runs messages one at a time in
// this one; a message that arrives while another runs waits (one at most),
// further ones are refused as busy. The connection ends when the client
// closes it, ctx ends, or a ping goes unanswered.
func (w *wsConn) serve(ctx context.Context) {
	// The client going away ends a run in progress too.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in := make(chan ClientFrame, 1)
	readErr := make(chan error, 1)
	go func() {
		defer close(in)
		for {
			_, b, err := w.c.Read(ctx)
			if err != nil {
				readErr <- err
				cancel()
				return
			}
			f, err := ParseClientFrame(b)
			if err != nil {
				if w.fail(ctx, "", "invalid_argument", err.Error()) != nil {
					return
				}
				continue
			}
			select {
			case in <- f:
			default:
				if w.fail(ctx, f.ID, "busy", "a message is already waiting; send the next one after its answer") != nil {
					return
				}
			}
		}
	}()
	if w.write(ctx, ServerFrame{RunEvent: apitype.RunEvent{Type: "ready"}, Session: w.session, Agent: w.agent}) != nil {
		return
	}
	ping := time.NewTicker(w.s.opts.KeepAlive)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			if w.s.ctx.Err() != nil {
				_ = w.c.Close(websocket.StatusGoingAway, "the gateway is shutting down")
			}
			return
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, w.s.opts.KeepAlive)
			err := w.c.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		case f, ok := <-in:
			if !ok {
				err := <-readErr
				if st := websocket.CloseStatus(err); st != websocket.StatusNormalClosure && st != websocket.StatusGoingAway && ctx.Err() == nil {
					w.s.opts.Log.Debug("websocket ended", "session", w.session, "err", err)
				}
				return
			}
			if err := w.message(ctx, f); err != nil {
				return
			}
		}
	}
}

// message runs one client message, streaming its events as frames.
func (w *wsConn) message(ctx context.Context, f ClientFrame) error {
	sender := w.token.ID + "/" + w.session
	if ok, retry := w.s.opts.PerSender.Allow("sender/"+sender, w.s.opts.Clock.Now()); !ok {
		return w.fail(ctx, f.ID, "rate_limited", fmt.Sprintf("rate limit reached; retry in %s", retry.Round(time.Second)))
	}
	m := channels.Message{Channel: "ws", Sender: sender, Agent: w.agent, Session: w.session, Text: f.Text}
	var werr error
	rep, err := w.s.opts.Hub.Exchange(ctx, m, func(ev apitype.RunEvent) error {
		werr = w.write(ctx, ServerFrame{RunEvent: ev, ID: f.ID})
		return werr
	})
	if werr != nil {
		return werr
	}
	if err != nil {
		var re *channels.RunError
		if errors.As(err, &re) {
			return w.fail(ctx, f.ID, re.Code, re.Message)
		}
		_, _, code := w.s.classify(err)
		return w.fail(ctx, f.ID, code, err.Error())
	}
	return w.write(ctx, ServerFrame{RunEvent: apitype.RunEvent{Type: apitype.RunFinal, Answer: rep.Answer, Usage: apitype.Usage(rep.Usage), Turns: rep.Turns}, ID: f.ID})
}
