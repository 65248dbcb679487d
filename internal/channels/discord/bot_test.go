package discord

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftos/weftos/internal/channels"
	"github.com/weftos/weftos/internal/channels/channelstest"
	"github.com/weftos/weftos/internal/channels/discord/discordtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newBot(fake *discordtest.Server, token string) *Bot {
	return New(Options{Name: "dc", Token: token, REST: NewREST(fake.URL, token, nil, nil), EditInterval: time.Nanosecond,
		InvalidSessionWait: 10 * time.Millisecond})
}

func TestGatewaySession(t *testing.T) {
	fake := discordtest.New("bot-token", Intents)
	defer fake.Close()
	long := strings.Repeat("discord ", 600) // 4,800 characters: three messages
	h := &channelstest.Recorder{Answer: long, Progress: []string{"…"}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- newBot(fake, "bot-token").Run(runCtx, h) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	ann := discordtest.User{ID: "7", Username: "ann"}
	// Messages count from the session's READY on.
	if _, err := fake.WaitFor(ctx, func(s discordtest.State) bool { return s.Identifies == 1 }); err != nil {
		t.Fatal(err)
	}
	fake.Say("D1", "", ann, "hello")
	st, err := fake.WaitFor(ctx, func(s discordtest.State) bool {
		var b strings.Builder
		for _, p := range discordtest.In(s.Posted, "D1") {
			b.WriteString(p.Content)
		}
		return b.String() == long
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Posted {
		if n := len([]rune(p.Content)); n > MaxMessage || p.MentionsParsed == nil || len(p.MentionsParsed) != 0 {
			t.Fatalf("a message of %d characters with allowed_mentions.parse %v", n, p.MentionsParsed)
		}
	}
	h.SetAnswer("ok")

	// A zombie connection (no ACKs, nothing flowing): the bot reconnects
	// and resumes; the message sent meanwhile is replayed.
	fake.Zombie()
	fake.Say("D1", "", ann, "are you still there?")
	if _, err := fake.WaitFor(ctx, func(s discordtest.State) bool {
		return len(s.Resumes) == 1 && len(discordtest.In(s.Posted, "D1")) == 4
	}); err != nil {
		t.Fatal(err)
	}
	// op 1: a heartbeat at once.
	before, _ := fake.WaitFor(ctx, func(discordtest.State) bool { return true })
	fake.RequestHeartbeat()
	if _, err := fake.WaitFor(ctx, func(s discordtest.State) bool { return s.Heartbeats > before.Heartbeats }); err != nil {
		t.Fatal(err)
	}
	// op 7: reconnect and resume.
	fake.Reconnect()
	if _, err := fake.WaitFor(ctx, func(s discordtest.State) bool { return len(s.Resumes) == 2 }); err != nil {
		t.Fatal(err)
	}
	// op 9, not resumable: identify again.
	fake.InvalidSession(false)
	if _, err := fake.WaitFor(ctx, func(s discordtest.State) bool { return s.Identifies == 2 }); err != nil {
		t.Fatal(err)
	}
	// A resumable close code: resume.
	fake.CloseWith(4000)
	if _, err := fake.WaitFor(ctx, func(s discordtest.State) bool { return len(s.Resumes) == 3 }); err != nil {
		t.Fatal(err)
	}
	// A guild message mentioning the bot: a reply, in the group.
	fake.Say("G1C1", "G1", ann, "<@900> hi", discordtest.BotUser)
	st, err = fake.WaitFor(ctx, func(s discordtest.State) bool { return len(discordtest.In(s.Posted, "G1C1")) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if discordtest.In(st.Posted, "G1C1")[0].ReplyTo == "" {
		t.Fatal("a guild answer is not a reply")
	}
	ins := h.Inbound()
	last := ins[len(ins)-1]
	if len(ins) != 3 || last.Group != "G1C1" || !last.Mentioned || ins[0].Group != "" || ins[0].Sender != "7" {
		t.Fatalf("inbound %+v", ins)
	}
}

func TestFatalCloseCodes(t *testing.T) {
	fake := discordtest.New("bot-token", Intents)
	defer fake.Close()
	// A token the gateway refuses (REST accepts it here, as a token with
	// the gateway revoked would be): 4004 ends the channel.
	b := New(Options{Name: "dc", Token: "wrong", REST: NewREST(fake.URL, "bot-token", nil, nil)})
	if err := b.Run(context.Background(), &channelstest.Recorder{}); !errors.Is(err, channels.ErrFatal) || !strings.Contains(err.Error(), "4004") {
		t.Fatalf("4004: %v", err)
	}
	// Intents Discord does not grant: 4014.
	strict := discordtest.New("bot-token", Intents|1<<1)
	defer strict.Close()
	if err := newBot(strict, "bot-token").Run(context.Background(), &channelstest.Recorder{}); !errors.Is(err, channels.ErrFatal) || !strings.Contains(err.Error(), "4014") {
		t.Fatalf("4014: %v", err)
	}
	// A bad REST token: 401.
	if err := newBot(fake, "nope").Run(context.Background(), &channelstest.Recorder{}); !errors.Is(err, channels.ErrFatal) {
		t.Fatalf("401: %v", err)
	}
}

func TestRESTRateLimit(t *testing.T) {
	fake := discordtest.New("bot-token", Intents)
	defer fake.Close()
	r := NewREST(fake.URL, "bot-token", nil, nil)
	fake.RateLimit(0.5)
	ctx := context.Background()
	if _, err := r.Send(ctx, "C1", "first", ""); err != nil {
		t.Fatal(err)
	}
	st, _ := fake.WaitFor(ctx, func(discordtest.State) bool { return true })
	var limited, ok time.Time
	for _, c := range st.Calls {
		if c.Status == 429 {
			limited = c.At
		} else if c.Method == "POST" {
			ok = c.At
		}
	}
	if limited.IsZero() || ok.Sub(limited) < 500*time.Millisecond {
		t.Fatalf("sent %s after the 429 (retry_after 0.5 s)", ok.Sub(limited))
	}
}

func FuzzParseFrame(f *testing.F) {
	f.Add([]byte(`{"op":10,"d":{"heartbeat_interval":41250}}`))
	f.Add([]byte(`{"op":0,"d":{},"s":3,"t":"MESSAGE_CREATE"}`))
	f.Add([]byte(`{"op":0,"d":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseFrame(b)
		if err == nil && (fr.Op < 0 || fr.Op > 11 || fr.Op == OpDispatch && (fr.S == nil || fr.T == "")) {
			t.Fatalf("accepted %+v", fr)
		}
	})
}

func TestAttachments(t *testing.T) {
	fake := discordtest.New("bot-token", Intents)
	defer fake.Close()
	h := &channelstest.Fetcher{Limit: 1000}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- newBot(fake, "bot-token").Run(runCtx, h) }()
	defer func() { stop(); <-done }()
	if _, err := fake.WaitFor(ctx, func(s discordtest.State) bool { return s.Identifies == 1 }); err != nil {
		t.Fatal(err)
	}
	ann := discordtest.User{ID: "7", Username: "ann"}
	fake.SayFile("D1", "", ann, "", "notes.txt", "text/plain; charset=utf-8", []byte("meeting at noon"))
	fake.SayFile("D1", "", ann, "", "big.bin", "application/octet-stream", make([]byte, 5000))
	if _, err := fake.WaitFor(ctx, func(s discordtest.State) bool { return len(s.Posted) == 2 }); err != nil {
		t.Fatal(err)
	}
	if h.Files()["notes.txt text/plain; charset=utf-8"] != "meeting at noon" || len(h.Errors()) != 1 {
		t.Fatalf("files %v, errors %v", h.Files(), h.Errors())
	}
	// Nothing but Discord's CDN (or the API host) is fetched.
	r := NewREST(fake.URL, "bot-token", nil, nil)
	for _, u := range []string{"http://cdn.discordapp.com/x", "https://169.254.169.254/latest", "https://evil.example/cdn.discordapp.com"} {
		if err := r.Download(ctx, u, io.Discard, 10); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("%s: %v", u, err)
		}
	}
}
