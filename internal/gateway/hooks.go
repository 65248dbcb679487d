package gateway

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/channels"
)

// Webhook headers.
const (
	HeaderTimestamp = "X-Weft-Timestamp" // Unix seconds
	HeaderSignature = "X-Weft-Signature" // v1=<hex HMAC-SHA256>[,v1=…]
	// maxHookBody bounds a webhook body.
	maxHookBody = 256 << 10
	// defaultWindow is how far a timestamp may be from now.
	defaultWindow = 5 * time.Minute
)

// Webhook signature errors.
var (
	ErrBadSignature = errors.New("bad webhook signature")
	ErrStale        = errors.New("webhook timestamp outside the window")
	ErrReplay       = errors.New("webhook already received")
)

// Sign returns the signature header value of body sent at ts with secret:
// HMAC-SHA256 over "v1:<ts>:<body>", hex, prefixed "v1=".
func Sign(secret []byte, ts int64, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "v1:%d:", ts)
	m.Write(body)
	return m.Sum(nil)
}

// ParseSignature returns the v1 signatures of a header value (several,
// comma-separated, while a secret is rotated; other versions are ignored).
func ParseSignature(v string) ([][]byte, error) {
	var out [][]byte
	for part := range strings.SplitSeq(v, ",") {
		ver, sig, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("%w: %q is not version=hex", ErrBadSignature, part)
		}
		if ver != "v1" {
			continue
		}
		b, err := hex.DecodeString(sig)
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("%w: not a hex SHA-256 MAC", ErrBadSignature)
		}
		out = append(out, b)
		if len(out) > 4 {
			return nil, fmt.Errorf("%w: too many signatures", ErrBadSignature)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no v1 signature", ErrBadSignature)
	}
	return out, nil
}

// Verify checks a webhook: the timestamp within window of now, a v1
// signature matching, and (with seen) not received before. It returns the
// matching signature's key for the replay cache.
func Verify(secret []byte, tsHeader, sigHeader string, body []byte, now time.Time, window time.Duration) (string, error) {
	ts, err := strconv.ParseInt(strings.TrimSpace(tsHeader), 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not Unix seconds", ErrBadSignature, HeaderTimestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > window || d < -window {
		return "", fmt.Errorf("%w (%s off, window %s)", ErrStale, d.Round(time.Second), window)
	}
	sigs, err := ParseSignature(sigHeader)
	if err != nil {
		return "", err
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return hex.EncodeToString(s), nil
		}
	}
	return "", ErrBadSignature
}

// replayCache remembers accepted signatures until their window passes.
type replayCache struct {
	mu   sync.Mutex
	m    map[string]time.Time
	last time.Time
}

// add records key until expires; false if it was already there.
func (c *replayCache) add(key string, now, expires time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]time.Time{}
	}
	if now.Sub(c.last) > time.Minute {
		c.last = now
		for k, exp := range c.m {
			if now.After(exp) {
				delete(c.m, k)
			}
		}
	}
	if _, dup := c.m[key]; dup {
		return false
	}
	c.m[key] = expires
	return true
}

// hookBody is a webhook's JSON body; any other body is the text itself.
type hookBody struct {
	Text    string `json:"text"`
	Message string `json:"message"`
	Session string `json:"session"`
}

// HookResponse answers a webhook.
type HookResponse struct {
	Accepted bool   `json:"accepted"`
	Session  string `json:"session"`
	Answer   string `json:"answer,omitempty"`
	ActionID string `json:"action_id,omitempty"`
}

// handleHook serves POST /hooks/agent?hook=NAME[&wait=1]: a signed body
// for the hook's agent, delimited as untrusted. By default it is accepted
// (202) and run in the background; wait=1 answers with the reply.
func (s *Server) handleHook(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("hook")
	var hook *Hook
	for i := range s.opts.Hooks {
		if s.opts.Hooks[i].Name == name {
			hook = &s.opts.Hooks[i]
		}
	}
	if hook == nil {
		writeError(w, http.StatusNotFound, "invalid_request_error", "hook", "unknown_hook", fmt.Sprintf("no webhook %q is configured", name))
		return
	}
	body, err := readBody(w, r, maxHookBody)
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "", "request_too_large", "the body is too large or unreadable")
		return
	}
	window := hook.Window
	if window <= 0 {
		window = defaultWindow
	}
	now := s.opts.Clock.Now()
	key, err := Verify(hook.Secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, now, window)
	if err != nil {
		s.opts.Log.Warn("webhook refused", "hook", name, "err", err)
		writeError(w, http.StatusUnauthorized, "authentication_error", "", "bad_signature", err.Error())
		return
	}
	if !s.seen.add(name+"/"+key, now, now.Add(2*window)) {
		writeError(w, http.StatusConflict, "invalid_request_error", "", "replayed", ErrReplay.Error())
		return
	}
	if !s.allow(w, s.opts.PerToken, "hook/"+name) {
		return
	}
	text, sess := string(body), "default"
	var hb hookBody
	if json.Valid(body) && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) && json.Unmarshal(body, &hb) == nil {
		if hb.Text != "" {
			text = hb.Text
		} else if hb.Message != "" {
			text = hb.Message
		}
		if hb.Session != "" {
			sess = hb.Session
		}
	}
	if strings.TrimSpace(text) == "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "text", "invalid_value", "the webhook carries no text")
		return
	}
	m := channels.Message{Channel: "hook." + name, Sender: "hook." + name, Agent: hook.Agent,
		Session: channels.SessionName("hook", name, sess), Text: text, Untrusted: true}
	if r.URL.Query().Get("wait") == "1" {
		rep, err := s.opts.Hub.Exchange(r.Context(), m, nil)
		if err != nil {
			s.writeRunError(w, err)
			return
		}
		writeJSON(w, HookResponse{Accepted: true, Session: m.Session, Answer: rep.Answer, ActionID: rep.ActionID})
		return
	}
	s.wg.Go(func() {
		if _, err := s.opts.Hub.Exchange(s.ctx, m, nil); err != nil {
			s.opts.Log.Warn("webhook run failed", "hook", name, "session", m.Session, "err", err)
		}
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(HookResponse{Accepted: true, Session: m.Session})
}
