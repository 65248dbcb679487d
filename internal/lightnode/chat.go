package lightnode

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/coder/websocket"

	"github.com/weftos/weftos/internal/gateway"
)

// tokenProtocol carries the gateway token in Sec-WebSocket-Protocol: a
// browser cannot set headers on a WebSocket, and a token never goes in the
// URL (internal/gateway/ws.go).
const tokenProtocol = "bearer."

// Chat is one WebSocket session with an agent behind a daemon's gateway.
type Chat struct {
	c       *websocket.Conn
	next    int
	Session string // the gateway's session name, from its "ready" frame
	Agent   string // the agent answering
}

// DialChat opens the gateway's WebSocket channel (base is the gateway's
// http(s):// or ws(s):// address; agent may be empty for the token's first
// agent) and waits for the "ready" frame.
func DialChat(ctx context.Context, base, token, agent string) (*Chat, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("%w: gateway address: %v", ErrChat, err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	case "ws", "wss":
	default:
		return nil, fmt.Errorf("%w: gateway address %q: want http(s):// or ws(s)://", ErrChat, base)
	}
	u.Path = "/v1/ws"
	if agent != "" {
		u.RawQuery = url.Values{"agent": {agent}}.Encode()
	}
	c, _, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		Subprotocols: []string{gateway.Subprotocol, tokenProtocol + token},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: connect: %v", ErrChat, err)
	}
	c.SetReadLimit(4 << 20)
	ch := &Chat{c: c}
	f, err := ch.read(ctx)
	if err != nil {
		c.CloseNow()
		return nil, err
	}
	if f.Type != "ready" {
		c.CloseNow()
		return nil, fmt.Errorf("%w: first frame %q, want \"ready\"", ErrChat, f.Type)
	}
	ch.Session, ch.Agent = f.Session, f.Agent
	return ch, nil
}

func (ch *Chat) read(ctx context.Context) (gateway.ServerFrame, error) {
	var f gateway.ServerFrame
	_, b, err := ch.c.Read(ctx)
	if err != nil {
		return f, fmt.Errorf("%w: read: %v", ErrChat, err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("%w: frame: %v", ErrChat, err)
	}
	return f, nil
}

// Send sends one message and returns the agent's final answer. Every frame
// answering it ("start", "delta", "tool_call", …) is passed to onFrame if
// that is not nil, in order.
func (ch *Chat) Send(ctx context.Context, text string, onFrame func(gateway.ServerFrame)) (string, error) {
	ch.next++
	id := "m" + strconv.Itoa(ch.next)
	b, err := json.Marshal(gateway.ClientFrame{Type: "message", ID: id, Text: text})
	if err != nil {
		return "", err
	}
	if err := ch.c.Write(ctx, websocket.MessageText, b); err != nil {
		return "", fmt.Errorf("%w: send: %v", ErrChat, err)
	}
	for {
		f, err := ch.read(ctx)
		if err != nil {
			return "", err
		}
		if f.ID != id {
			continue // a frame of no message of ours (none is sent today)
		}
		if onFrame != nil {
			onFrame(f)
		}
		switch f.Type {
		case "final":
			return f.Answer, nil
		case "error":
			return "", fmt.Errorf("%w: %s: %s", ErrChat, f.Code, f.Message)
		}
	}
}

// Close ends the session.
func (ch *Chat) Close() error { return ch.c.Close(websocket.StatusNormalClosure, "") }
