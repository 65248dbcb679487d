package slack

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftos/weftos/internal/channels"
	"github.com/weftos/weftos/internal/channels/channelstest"
	"github.com/weftos/weftos/internal/channels/slack/slacktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func start(t *testing.T, a *App, h channels.Handler) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, h) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
}

func TestSocketMode(t *testing.T) {
	fake := slacktest.New("xoxb-1", "xapp-1")
	defer fake.Close()
	long := strings.Repeat("slack answers ", 700) // 9,800 characters: three parts
	h := &channelstest.Recorder{Answer: long, Progress: []string{"thinking"}}
	a := New(Options{Name: "sl", BotToken: "xoxb-1", AppToken: "xapp-1", APIURL: fake.URL, EditInterval: time.Nanosecond})
	stop := start(t, a, h)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	env := fake.Say("D1", "im", "U7", "hello")
	st, err := fake.WaitFor(ctx, func(s slacktest.State) bool {
		var b strings.Builder
		for _, p := range slacktest.In(s.Posted, "D1") {
			b.WriteString(p.Text)
		}
		return b.String() == long && s.Acked[env]
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Posted {
		if n := len([]rune(p.Text)); n > MaxMessage || p.Thread != "" {
			t.Fatalf("a DM part of %d characters, thread %q", n, p.Thread)
		}
	}
	if st.Posted[0].Updates == 0 {
		t.Fatal("the streamed message was never updated")
	}
	// A redelivery (not acknowledged in time, Slack says) is not handled twice.
	fake.Redeliver(env)
	h.SetAnswer("ok")
	fake.Say("C1", "channel", "U8", "<@"+slacktest.BotUser+"> are you there?")
	if _, err := fake.WaitFor(ctx, func(s slacktest.State) bool { return len(slacktest.In(s.Posted, "C1")) == 1 }); err != nil {
		t.Fatal(err)
	}
	ins := h.Inbound()
	if len(ins) != 2 || ins[0].Group != "" || ins[0].Sender != "U7" || ins[1].Group != "C1" || !ins[1].Mentioned {
		t.Fatalf("inbound %+v", ins)
	}
	// A refresh reconnects; events keep flowing.
	fake.Refresh()
	if _, err := fake.WaitFor(ctx, func(s slacktest.State) bool { return s.Connections == 2 }); err != nil {
		t.Fatal(err)
	}
	fake.Say("D1", "im", "U7", "after the refresh")
	if _, err := fake.WaitFor(ctx, func(s slacktest.State) bool { return len(slacktest.In(s.Posted, "D1")) == 4 }); err != nil {
		t.Fatal(err)
	}
	// Answers in channels go to the message's thread.
	st, _ = fake.WaitFor(ctx, func(slacktest.State) bool { return true })
	if c1 := slacktest.In(st.Posted, "C1"); c1[0].Thread == "" {
		t.Fatalf("channel answer not in a thread: %+v", c1)
	}
}

func TestRateLimited(t *testing.T) {
	fake := slacktest.New("xoxb-1", "xapp-1")
	defer fake.Close()
	fake.RateLimit("chat.postMessage", 1)
	a := New(Options{Name: "sl", BotToken: "xoxb-1", AppToken: "xapp-1", APIURL: fake.URL})
	stop := start(t, a, &channelstest.Recorder{Answer: "ok", Progress: []string{"thinking"}})
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fake.Say("D1", "im", "U7", "hello")
	st, err := fake.WaitFor(ctx, func(s slacktest.State) bool { return len(s.Posted) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	var limited, ok time.Time
	for _, c := range st.Calls {
		if c.Method == "chat.postMessage" && c.Status == 429 {
			limited = c.At
		}
		if c.Method == "chat.postMessage" && c.Status == 200 {
			ok = c.At
		}
	}
	if limited.IsZero() || ok.Sub(limited) < time.Second {
		t.Fatalf("posted %s after the 429 (Retry-After 1 s)", ok.Sub(limited))
	}
}

func TestBadTokenIsFatal(t *testing.T) {
	fake := slacktest.New("xoxb-1", "xapp-1")
	defer fake.Close()
	err := New(Options{Name: "sl", BotToken: "xoxb-wrong", AppToken: "xapp-1", APIURL: fake.URL}).Run(context.Background(), &channelstest.Recorder{})
	if !errors.Is(err, channels.ErrFatal) {
		t.Fatalf("bad token: %v", err)
	}
}

func TestEventsAPI(t *testing.T) {
	fake := slacktest.New("xoxb-1", "")
	defer fake.Close()
	h := &channelstest.Recorder{Answer: "ok", Progress: []string{"thinking"}}
	ready := make(chan struct{})
	a := New(Options{Name: "sl", BotToken: "xoxb-1", SigningSecret: "shh", APIURL: fake.URL, OnReady: func() { close(ready) }})
	post := func(body []byte, ts int64, sig string, retry bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/hooks/slack/sl", bytes.NewReader(body))
		r.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		r.Header.Set(HeaderSignature, sig)
		if retry {
			r.Header.Set("X-Slack-Retry-Num", "1")
		}
		w := httptest.NewRecorder()
		a.ServeEvents(w, r)
		return w
	}
	now := time.Now().Unix()
	ev := slacktest.EventCallback("Ev1", "D1", "im", "U7", "hello", "1.1")
	// Not running yet: Slack is told to retry.
	if w := post(ev, now, Sign("shh", now, ev), false); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("before run: %d", w.Code)
	}
	stop := start(t, a, h)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	<-ready // auth.test done: events count from now on
	challenge := []byte(`{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	if w := post(challenge, now, Sign("shh", now, challenge), false); w.Code != 200 || w.Body.String() != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("challenge: %d %q", w.Code, w.Body.String())
	}
	if w := post(ev, now, Sign("other", now, ev), false); w.Code != http.StatusUnauthorized {
		t.Fatalf("bad signature: %d", w.Code)
	}
	if w := post(ev, now-400, Sign("shh", now-400, ev), false); w.Code != http.StatusUnauthorized {
		t.Fatalf("stale: %d", w.Code)
	}
	if w := post(ev, now, Sign("shh", now, ev), false); w.Code != 200 {
		t.Fatalf("event: %d", w.Code)
	}
	if w := post(ev, now, Sign("shh", now, ev), true); w.Code != 200 { // Slack's retry
		t.Fatalf("retry: %d", w.Code)
	}
	ev2 := slacktest.EventCallback("Ev2", "D1", "im", "U7", "second", "1.2")
	post(ev2, now, Sign("shh", now, ev2), false)
	if _, err := fake.WaitFor(ctx, func(s slacktest.State) bool { return len(s.Posted) == 2 }); err != nil {
		t.Fatal(err)
	}
	if n := len(h.Inbound()); n != 2 {
		t.Fatalf("%d events handled, want 2 (the retry is a duplicate)", n)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte("token=x&text=hi")
	good := Sign("s", now.Unix(), body)
	for _, c := range []struct {
		name, ts, sig string
		want          error
	}{
		{"good", "1800000000", good, nil},
		{"wrong secret", "1800000000", Sign("t", now.Unix(), body), ErrBadSignature},
		{"stale", "1799999600", Sign("s", 1799999600, body), ErrStale},
		{"future", "1800000400", Sign("s", 1800000400, body), ErrStale},
		{"no version", "1800000000", strings.TrimPrefix(good, "v0="), ErrBadSignature},
		{"v1", "1800000000", "v1=" + strings.TrimPrefix(good, "v0="), ErrBadSignature},
		{"short", "1800000000", "v0=abcd", ErrBadSignature},
		{"bad ts", "soon", good, ErrBadSignature},
	} {
		if err := Verify("s", c.ts, c.sig, body, now); c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("1800000000", Sign("s", 1_800_000_000, []byte("x")), []byte("x"))
	f.Add("1800000000", "v0=zz", []byte("x"))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		if Verify("s", ts, sig, body, time.Unix(1_800_000_000, 0)) != nil {
			return
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
		if !strings.EqualFold(sig, Sign("s", n, body)) {
			t.Fatalf("forged signature verified: %q %q", ts, sig)
		}
	})
}

func TestFiles(t *testing.T) {
	fake := slacktest.New("xoxb-1", "xapp-1")
	defer fake.Close()
	h := &channelstest.Fetcher{Limit: 1000}
	stop := start(t, New(Options{Name: "sl", BotToken: "xoxb-1", AppToken: "xapp-1", APIURL: fake.URL}), h)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fake.SayFile("D1", "im", "U7", "", "notes.txt", "text/plain", []byte("meeting at noon"))
	fake.SayFile("D1", "im", "U7", "big one", "big.txt", "text/plain", make([]byte, 5000))
	if _, err := fake.WaitFor(ctx, func(s slacktest.State) bool { return len(s.Posted) == 2 }); err != nil {
		t.Fatal(err)
	}
	if h.Files()["notes.txt text/plain"] != "meeting at noon" || len(h.Errors()) != 1 {
		t.Fatalf("files %v, errors %v", h.Files(), h.Errors())
	}
}
