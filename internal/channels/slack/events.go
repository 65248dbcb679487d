package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack/slackevents"
)

// Events API request headers.
const (
	HeaderTimestamp = "X-Slack-Request-Timestamp"
	HeaderSignature = "X-Slack-Signature"
	// Window is how far a request's timestamp may be from now.
	Window       = 5 * time.Minute
	maxEventBody = 1 << 20
)

// Signature errors.
var (
	ErrBadSignature = errors.New("bad Slack signature")
	ErrStale        = errors.New("Slack request timestamp outside the 5-minute window")
)

// Sign returns the X-Slack-Signature of body sent at ts with secret:
// "v0=" + hex(HMAC-SHA256(secret, "v0:<ts>:<body>")).
func Sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%d:", ts)
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a request's timestamp (within Window of now) and v0
// signature.
func Verify(secret, tsHeader, sigHeader string, body []byte, now time.Time) error {
	ts, err := strconv.ParseInt(strings.TrimSpace(tsHeader), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s is not Unix seconds", ErrBadSignature, HeaderTimestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Window || d < -Window {
		return ErrStale
	}
	hexSig, ok := strings.CutPrefix(sigHeader, "v0=")
	if !ok {
		return fmt.Errorf("%w: not a v0 signature", ErrBadSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: not a hex SHA-256 MAC", ErrBadSignature)
	}
	want, _ := hex.DecodeString(strings.TrimPrefix(Sign(secret, ts, body), "v0="))
	if !hmac.Equal(got, want) {
		return ErrBadSignature
	}
	return nil
}

// ServeEvents is the Events API endpoint (the gateway serves it at POST
// /hooks/slack/NAME): a signed url_verification is answered with its
// challenge; a signed event is acknowledged at once (200) and handled in
// the background, a retry of an event already handled ignored.
func (a *App) ServeEvents(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventBody))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if a.opts.SigningSecret == "" {
		http.Error(w, "this channel has no signing secret", http.StatusNotFound)
		return
	}
	if err := Verify(a.opts.SigningSecret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, a.opts.Clock.Now()); err != nil {
		a.opts.Log.Warn("slack: event refused", "channel", a.opts.Name, "err", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	e, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		http.Error(w, "unreadable event", http.StatusBadRequest)
		return
	}
	switch e.Type {
	case slackevents.URLVerification:
		v, _ := e.Data.(*slackevents.EventsAPIURLVerificationEvent)
		if v == nil {
			http.Error(w, "unreadable challenge", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, v.Challenge)
	case slackevents.CallbackEvent:
		a.mu.Lock()
		running := a.h != nil
		a.mu.Unlock()
		if !running {
			http.Error(w, "the channel is not running", http.StatusServiceUnavailable) // Slack retries
			return
		}
		a.event(e)
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusOK)
	}
}
