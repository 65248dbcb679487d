package telegram

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftos/weftos/internal/channels"
	"github.com/weftos/weftos/internal/channels/channelstest"
	"github.com/weftos/weftos/internal/channels/telegram/telegramtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runBot(t *testing.T, fake *telegramtest.Server, h channels.Handler, edit time.Duration) (context.Context, func() error) {
	t.Helper()
	bot := New(Options{Name: "tg", Client: NewClient(fake.URL, fake.Token, nil, nil), EditInterval: edit})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bot.Run(ctx, h) }()
	return ctx, func() error {
		cancel()
		return <-done
	}
}

func TestBotPollsAndAnswers(t *testing.T) {
	fake := telegramtest.New("123:secret")
	defer fake.Close()
	long := strings.Repeat("word ", 2000) // 10,000 characters: three messages
	// The recorder answers everything (admission is the dispatcher's).
	h := &channelstest.Recorder{Answer: long, Progress: []string{"wo", "word word"}}
	_, stop := runBot(t, fake, h, time.Nanosecond)
	ann := telegramtest.User{ID: 7, FirstName: "Ann", Username: "ann"}
	fake.Say(telegramtest.Chat{ID: 7, Type: "private"}, ann, "hello")
	group := telegramtest.Chat{ID: -100, Type: "supergroup"}
	fake.Say(group, ann, "@weft_bot are you there?", telegramtest.Mention())
	fake.Say(group, ann, "just chatting")
	fake.Say(telegramtest.Chat{ID: 9, Type: "private"}, telegramtest.User{ID: 9, IsBot: true, FirstName: "Other bot"}, "ignored")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sent, err := fake.WaitFor(ctx, func(s []telegramtest.Sent) bool {
		return len(telegramtest.To(s, 7)) == 3 && len(telegramtest.To(s, -100)) == 6 && len(h.Inbound()) == 3
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every update is acknowledged by a later poll's offset.
	if err := fake.WaitConfirmed(ctx); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, m := range telegramtest.To(sent, 7) {
		if n := channels.UTF16Len(m.Text); n > MaxMessage {
			t.Fatalf("a message of %d units", n)
		}
		got.WriteString(m.Text)
	}
	if got.String() != long {
		t.Fatal("the chunks do not add up to the answer")
	}
	if first := telegramtest.To(sent, 7)[0]; first.Edits < 1 {
		t.Fatalf("the streamed message was never edited: %+v", first)
	}
	ins := h.Inbound()
	byText := map[string]channels.Inbound{}
	for _, in := range ins {
		byText[in.Text] = in
	}
	dm, mention, chat := byText["hello"], byText["@weft_bot are you there?"], byText["just chatting"]
	if dm.Group != "" || dm.Sender != "7" || dm.Chat != "7" || dm.SenderName != "Ann (@ann)" {
		t.Fatalf("dm %+v", dm)
	}
	if mention.Group != "-100" || !mention.Mentioned || chat.Mentioned {
		t.Fatalf("group messages %+v %+v", mention, chat)
	}
}

func TestBotRetriesAfter429(t *testing.T) {
	fake := telegramtest.New("123:secret")
	defer fake.Close()
	fake.Fail("sendMessage", telegramtest.Failure{Code: 429, RetryAfter: 1})
	_, stop := runBot(t, fake, &channelstest.Recorder{Answer: "ok"}, time.Second)
	defer stop()
	fake.Say(telegramtest.Chat{ID: 7, Type: "private"}, telegramtest.User{ID: 7, FirstName: "Ann"}, "hi")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := fake.WaitFor(ctx, func(s []telegramtest.Sent) bool { return len(s) == 1 }); err != nil {
		t.Fatal(err)
	}
	var refused, ok time.Time
	for _, c := range fake.Calls() {
		if c.Method == "sendMessage" && c.Status == 429 {
			refused = c.At
		}
		if c.Method == "sendMessage" && c.Status == 200 {
			ok = c.At
		}
	}
	if refused.IsZero() || ok.Sub(refused) < time.Second {
		t.Fatalf("retried %s after the 429, before its retry_after of 1s", ok.Sub(refused))
	}
}

func TestBotConflicts(t *testing.T) {
	fake := telegramtest.New("123:secret")
	defer fake.Close()
	// A webhook left active is removed once, then polling works.
	fake.SetWebhook()
	_, stop := runBot(t, fake, &channelstest.Recorder{Answer: "ok"}, time.Second)
	fake.Say(telegramtest.Chat{ID: 7, Type: "private"}, telegramtest.User{ID: 7, FirstName: "Ann"}, "hi")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := fake.WaitFor(ctx, func(s []telegramtest.Sent) bool { return len(s) == 1 }); err != nil {
		t.Fatal(err)
	}
	// Another poller of the same bot: this one reports the conflict.
	_, stop2 := runBot(t, fake, &channelstest.Recorder{Answer: "ok"}, time.Second)
	defer stop2()
	if err := stop(); err != nil && !errors.Is(err, ErrConflict) {
		t.Fatalf("first poller: %v", err)
	}
	// A token the Bot API does not know is fatal: no retry helps.
	bot := New(Options{Name: "tg", Client: NewClient(fake.URL, "999:wrong", nil, nil)})
	err := bot.Run(ctx, &channelstest.Recorder{})
	if !errors.Is(err, channels.ErrFatal) || strings.Contains(err.Error(), "999:wrong") {
		t.Fatalf("bad token: %v", err)
	}
}

func TestWebhookMode(t *testing.T) {
	fake := telegramtest.New("123:secret")
	defer fake.Close()
	h := &channelstest.Recorder{Answer: "ok"}
	ready := make(chan struct{})
	bot := New(Options{Name: "tg", Client: NewClient(fake.URL, fake.Token, nil, nil), WebhookURL: "https://gw.example/hooks/telegram/tg",
		WebhookSecret: "s3cret-token", OnReady: func() { close(ready) }})
	deliver := func(secret string, body []byte) int {
		r := httptest.NewRequest("POST", "/hooks/telegram/tg", bytes.NewReader(body))
		r.Header.Set(HeaderSecret, secret)
		w := httptest.NewRecorder()
		bot.ServeWebhook(w, r)
		return w.Code
	}
	ann := telegramtest.User{ID: 7, FirstName: "Ann"}
	up := telegramtest.UpdateJSON(500, telegramtest.Chat{ID: 7, Type: "private"}, ann, "hi")
	if code := deliver("s3cret-token", up); code != http.StatusServiceUnavailable {
		t.Fatalf("before run: %d", code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bot.Run(ctx, h) }()
	<-ready
	if url, secret := fake.Hook(); url != "https://gw.example/hooks/telegram/tg" || secret != "s3cret-token" {
		t.Fatalf("setWebhook %q %q", url, secret)
	}
	if code := deliver("wrong", up); code != http.StatusUnauthorized {
		t.Fatalf("bad secret: %d", code)
	}
	for range 2 { // Telegram redelivers what it thinks failed
		if code := deliver("s3cret-token", up); code != http.StatusOK {
			t.Fatalf("delivery: %d", code)
		}
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	if _, err := fake.WaitFor(wctx, func(s []telegramtest.Sent) bool { return len(s) == 1 }); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(h.Inbound()); n != 1 {
		t.Fatalf("handled %d times", n)
	}
}

func TestMentions(t *testing.T) {
	me := User{ID: 4242, Username: "weft_bot"}
	cases := []struct {
		m    Message
		want bool
	}{
		{Message{Text: "@weft_bot hi", Entities: []Entity{{Type: "mention", Offset: 0, Length: 9}}}, true},
		{Message{Text: "😀 @Weft_Bot hi", Entities: []Entity{{Type: "mention", Offset: 3, Length: 9}}}, true}, // UTF-16 offsets
		{Message{Text: "@other hi", Entities: []Entity{{Type: "mention", Offset: 0, Length: 6}}}, false},
		{Message{Text: "@weft_bot hi"}, false}, // text alone is not a mention entity
		{Message{Text: "/ask@weft_bot x", Entities: []Entity{{Type: "bot_command", Offset: 0, Length: 13}}}, true},
		{Message{Text: "Weft, hi", Entities: []Entity{{Type: "text_mention", Offset: 0, Length: 4, User: &User{ID: 4242}}}}, true},
		{Message{Text: "ok", ReplyTo: &Message{From: &User{ID: 4242}}}, true},
		{Message{Text: "x", Entities: []Entity{{Type: "mention", Offset: 5, Length: 9}}}, false},
	}
	for i, c := range cases {
		if got := mentions(me, &c.m); got != c.want {
			t.Errorf("case %d: %v", i, got)
		}
	}
}

func FuzzMentions(f *testing.F) {
	f.Add("@weft_bot hi", 0, 9, "mention")
	f.Add("😀 @weft_bot", 3, 9, "mention")
	f.Fuzz(func(t *testing.T, text string, off, n int, typ string) {
		m := &Message{Text: text, Entities: []Entity{{Type: typ, Offset: off, Length: n}}}
		_ = mentions(User{ID: 1, Username: "weft_bot"}, m) // never panics on any offsets
	})
}
