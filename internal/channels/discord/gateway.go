package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/weftos/weftos/internal/channels"
	"github.com/weftos/weftos/internal/clock"
)

// Gateway opcodes.
const (
	OpDispatch       = 0
	OpHeartbeat      = 1
	OpIdentify       = 2
	OpResume         = 6
	OpReconnect      = 7
	OpInvalidSession = 9
	OpHello          = 10
	OpHeartbeatACK   = 11
)

// Intents: guilds, guild messages, direct messages, message content.
const Intents = 1<<0 | 1<<9 | 1<<12 | 1<<15

// Frame is one gateway payload.
type Frame struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s,omitempty"`
	T  string          `json:"t,omitempty"`
}

var errBadFrame = errors.New("bad gateway frame")

// ParseFrame decodes one gateway payload.
func ParseFrame(b []byte) (Frame, error) {
	var f Frame
	if err := json.Unmarshal(b, &f); err != nil {
		return Frame{}, fmt.Errorf("%w: %v", errBadFrame, err)
	}
	if f.Op < 0 || f.Op > 11 {
		return Frame{}, fmt.Errorf("%w: opcode %d", errBadFrame, f.Op)
	}
	if f.Op == OpDispatch && (f.T == "" || f.S == nil) {
		return Frame{}, fmt.Errorf("%w: a dispatch needs t and s", errBadFrame)
	}
	return f, nil
}

// fatalClose are the close codes retrying cannot fix: authentication
// failed, invalid shard, sharding required, invalid API version, invalid
// or disallowed intents.
var fatalClose = map[websocket.StatusCode]string{4004: "authentication failed", 4010: "invalid shard", 4011: "sharding required",
	4012: "invalid API version", 4013: "invalid intents", 4014: "disallowed intents (enable the message content intent)"}

// reidentifyClose are the close codes after which the session cannot be
// resumed: invalid sequence, session timed out.
var reidentifyClose = map[websocket.StatusCode]bool{4007: true, 4009: true}

// session is what survives a reconnect.
type session struct {
	id        string
	resumeURL string
	seq       int64
	me        User
}

// next says what to do after a connection ended.
type next int

const (
	resume next = iota
	reidentify
)

// statusResumable closes a connection keeping the session resumable
// (1000 and 1001 would end it).
const statusResumable = websocket.StatusCode(4000)

// connect runs one gateway connection until it ends, and says whether to
// resume or identify afresh; a fatal failure is an error wrapping
// channels.ErrFatal.
func (b *Bot) connect(ctx context.Context, url string, st *session, h channels.Handler) (next, error) {
	if st.id != "" && st.resumeURL != "" {
		url = st.resumeURL
	}
	c, _, err := websocket.Dial(ctx, url+"?v=10&encoding=json", nil)
	if err != nil {
		return resume, fmt.Errorf("discord gateway: %w", err)
	}
	defer c.CloseNow()
	c.SetReadLimit(16 << 20)
	frames := make(chan Frame, 16)
	readErr := make(chan error, 1)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(frames)
		for {
			_, data, err := c.Read(rctx)
			if err != nil {
				readErr <- err
				return
			}
			f, err := ParseFrame(data)
			if err != nil {
				b.opts.Log.Warn("discord: ignoring a frame", "channel", b.opts.Name, "err", err)
				continue
			}
			select {
			case frames <- f:
			case <-rctx.Done():
				return
			}
		}
	}()
	send := func(op int, d any) error {
		raw, _ := json.Marshal(map[string]any{"op": op, "d": d})
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		defer wcancel()
		return c.Write(wctx, websocket.MessageText, raw)
	}
	// HELLO first.
	var hello Frame
	helloWait := time.NewTimer(20 * time.Second)
	defer helloWait.Stop()
	select {
	case hello = <-frames:
	case <-ctx.Done():
		return resume, nil
	case <-helloWait.C:
		return resume, errors.New("discord gateway: no HELLO")
	}
	var hd struct {
		Interval int64 `json:"heartbeat_interval"`
	}
	if hello.Op != OpHello || json.Unmarshal(hello.D, &hd) != nil || hd.Interval <= 0 {
		return resume, fmt.Errorf("discord gateway: expected HELLO, got op %d", hello.Op)
	}
	interval := time.Duration(hd.Interval) * time.Millisecond
	if st.id != "" {
		err = send(OpResume, map[string]any{"token": b.opts.Token, "session_id": st.id, "seq": st.seq})
	} else {
		err = send(OpIdentify, map[string]any{"token": b.opts.Token, "intents": Intents,
			"properties": map[string]string{"os": "linux", "browser": "weftos", "device": "weftos"}})
	}
	if err != nil {
		return resume, err
	}
	heartbeat := func() error {
		var seq any
		if st.seq > 0 {
			seq = st.seq
		}
		return send(OpHeartbeat, seq)
	}
	// The first heartbeat after interval × jitter, then every interval;
	// a heartbeat due while the previous one is unacknowledged means the
	// connection is a zombie.
	timer := time.NewTimer(time.Duration(rand.Float64() * float64(interval)))
	defer timer.Stop()
	acked := true
	for {
		select {
		case <-ctx.Done():
			_ = c.Close(statusResumable, "shutting down")
			return resume, nil
		case <-timer.C:
			if !acked {
				b.opts.Log.Warn("discord: heartbeat not acknowledged; reconnecting", "channel", b.opts.Name)
				_ = c.Close(statusResumable, "zombie connection")
				return resume, nil
			}
			if err := heartbeat(); err != nil {
				return resume, err
			}
			acked = false
			timer.Reset(interval)
		case f, ok := <-frames:
			if !ok {
				err := <-readErr
				code := websocket.CloseStatus(err)
				if why, fatal := fatalClose[code]; fatal {
					return resume, fmt.Errorf("%w: discord gateway closed %d: %s", channels.ErrFatal, code, why)
				}
				if reidentifyClose[code] {
					return reidentify, fmt.Errorf("discord gateway closed %d", code)
				}
				return resume, fmt.Errorf("discord gateway: %w", err)
			}
			switch f.Op {
			case OpHeartbeatACK:
				acked = true
			case OpHeartbeat: // the gateway asks for one now
				if err := heartbeat(); err != nil {
					return resume, err
				}
			case OpReconnect:
				_ = c.Close(statusResumable, "reconnect requested")
				return resume, nil
			case OpInvalidSession:
				var resumable bool
				_ = json.Unmarshal(f.D, &resumable)
				_ = c.Close(statusResumable, "invalid session")
				if resumable {
					return resume, nil
				}
				// Discord asks for a wait of 1–5 s before identifying again.
				if !clock.Sleep(ctx, b.opts.Clock, b.opts.InvalidSessionWait) {
					return resume, nil
				}
				return reidentify, nil
			case OpDispatch:
				st.seq = *f.S
				b.dispatch(ctx, st, f, h)
			}
		}
	}
}

// dispatch handles a gateway event.
func (b *Bot) dispatch(ctx context.Context, st *session, f Frame, h channels.Handler) {
	switch f.T {
	case "READY":
		var r struct {
			SessionID string `json:"session_id"`
			ResumeURL string `json:"resume_gateway_url"`
			User      User   `json:"user"`
		}
		if json.Unmarshal(f.D, &r) == nil {
			st.id, st.resumeURL, st.me = r.SessionID, strings.TrimRight(r.ResumeURL, "/"), r.User
		}
	case "RESUMED":
		b.opts.Log.Info("discord: session resumed", "channel", b.opts.Name, "seq", st.seq)
	case "MESSAGE_CREATE":
		var m MessageEvent
		if json.Unmarshal(f.D, &m) != nil {
			return
		}
		in, ok := b.inbound(st.me, m)
		if !ok {
			return
		}
		replyTo := ""
		if m.GuildID != "" {
			replyTo = m.ID
		}
		conv := b.answer(m.ChannelID, replyTo)
		b.wg.Go(func() { h.Handle(ctx, in, conv) })
	}
}
