//go:build !nochannels && !nollm

package daemon

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/channels"
	"github.com/weftos/weftos/internal/channels/discord"
	"github.com/weftos/weftos/internal/channels/discord/discordtest"
	"github.com/weftos/weftos/internal/channels/slack"
	"github.com/weftos/weftos/internal/channels/slack/slacktest"
	"github.com/weftos/weftos/internal/channels/telegram/telegramtest"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// TestTelegramEndToEnd: a stranger gets a pairing code and nothing else;
// approved, their message drives an agent tool call that is on the chain;
// the long answer arrives in chunks within Telegram's limit, after a 429
// was waited out; another stranger still gets only a pairing prompt.
func TestTelegramEndToEnd(t *testing.T) {
	fake := telegramtest.New("123:tg-secret")
	defer fake.Close()
	t.Setenv("WEFT_TEST_TG", fake.Token)
	long := strings.Repeat("All is well in the workspace. ", 300) // 9,000 characters
	n := startGateway(t, fmt.Sprintf("[[channels]]\nname = \"tg\"\nkind = \"telegram\"\ntoken_env = \"WEFT_TEST_TG\"\nbase_url = %q\n", fake.URL),
		llmtest.Options{Handler: toolThenText(long)})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ann := telegramtest.User{ID: 7, FirstName: "Ann"}
	dm := telegramtest.Chat{ID: 7, Type: "private"}

	// A stranger: a pairing prompt, no agent run.
	fake.Say(dm, ann, "hello, who are you?")
	sent, err := fake.WaitFor(ctx, func(s []telegramtest.Sent) bool { return len(telegramtest.To(s, 7)) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	pend, err := n.c.Pairing(ctx)
	if err != nil || len(pend.Pending) != 1 || pend.Pending[0].Sender != "7" {
		t.Fatalf("pairing list %+v %v", pend, err)
	}
	code := pend.Pending[0].Code
	if telegramtest.To(sent, 7)[0].Text != channels.PairingPrompt(code) || len(n.llm.Requests()) != 0 {
		t.Fatalf("the stranger got %q (model calls %d)", telegramtest.To(sent, 7)[0].Text, len(n.llm.Requests()))
	}
	// A group that is not allowlisted gets nothing, even mentioning the bot.
	fake.Say(telegramtest.Chat{ID: -100, Type: "supergroup"}, ann, "@weft_bot hi", telegramtest.Mention())

	// Approved (a governed act), the sender's message reaches the agent.
	if _, err := n.c.PairingResolve(ctx, code, true); err != nil {
		t.Fatal(err)
	}
	fake.Fail("sendMessage", telegramtest.Failure{Code: 429, RetryAfter: 1})
	fake.Say(dm, ann, "what is in the workspace?")
	sent, err = fake.WaitFor(ctx, func(s []telegramtest.Sent) bool {
		var text strings.Builder
		for _, m := range telegramtest.To(s, 7)[1:] {
			text.WriteString(m.Text)
		}
		return text.String() == long
	})
	if err != nil {
		t.Fatal(err)
	}
	answer := telegramtest.To(sent, 7)[1:]
	if len(answer) != 3 {
		t.Fatalf("the answer came in %d messages", len(answer))
	}
	for _, m := range answer {
		if channels.UTF16Len(m.Text) > 4096 {
			t.Fatalf("a message of %d units", channels.UTF16Len(m.Text))
		}
	}
	if len(telegramtest.To(sent, -100)) != 0 {
		t.Fatal("the bot answered in a group that is not allowlisted")
	}
	// Another stranger: only a pairing prompt.
	fake.Say(telegramtest.Chat{ID: 8, Type: "private"}, telegramtest.User{ID: 8, FirstName: "Bob"}, "run rm -rf /")
	sent, err = fake.WaitFor(ctx, func(s []telegramtest.Sent) bool { return len(telegramtest.To(s, 8)) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(telegramtest.To(sent, 8)[0].Text, "pairing code") {
		t.Fatalf("the second stranger got %q", telegramtest.To(sent, 8)[0].Text)
	}

	// The chain answers who asked the agent to do what.
	k := n.kinds(t)
	if k[governance.KindChannelPairing] != 1 || k[governance.KindPairingRequest] != 2 || k[governance.KindChannelMessage] != 1 || k[governance.KindToolCall] == 0 {
		t.Fatalf("chain kinds %v", k)
	}
	rep, err := n.c.GovAudit(ctx, 0)
	if err != nil || !rep.OK() {
		t.Fatalf("audit %+v %v", rep, err)
	}
	if m, err := n.c.Metrics(ctx); err != nil || !strings.Contains(m, `weftos_channel_messages_total{channel="tg",outcome="answered"} 1`) ||
		!strings.Contains(m, "weftos_gateway_tokens 0") {
		t.Fatalf("metrics: %v\n%s", err, m)
	}
	st, err := n.c.Channels(ctx)
	if err != nil || len(st.Channels) != 1 || st.Channels[0].State != channels.StateRunning || st.Channels[0].Answered != 1 || st.Channels[0].Received < 4 {
		t.Fatalf("status %+v %v", st, err)
	}
}

// TestSlackEndToEnd: over Socket Mode, a stranger is paired and approved,
// then drives an agent tool call on the chain; over the Events API (the
// gateway's /hooks/slack/NAME), a badly signed event is refused.
func TestSlackEndToEnd(t *testing.T) {
	fake := slacktest.New("xoxb-e2e", "xapp-e2e")
	defer fake.Close()
	t.Setenv("WEFT_TEST_SLACK_BOT", fake.BotToken)
	t.Setenv("WEFT_TEST_SLACK_APP", fake.AppToken)
	t.Setenv("WEFT_TEST_SLACK_SIGNING", "signing-secret")
	n := startGateway(t, fmt.Sprintf("[[channels]]\nname = \"sl\"\nkind = \"slack\"\ntoken_env = \"WEFT_TEST_SLACK_BOT\"\n"+
		"app_token_env = \"WEFT_TEST_SLACK_APP\"\nsigning_secret_env = \"WEFT_TEST_SLACK_SIGNING\"\nbase_url = %q\n", strings.TrimSuffix(fake.URL, "/")),
		llmtest.Options{Handler: toolThenText("all done here")})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fake.Say("D1", "im", "U7", "hello")
	st, err := fake.WaitFor(ctx, func(s slacktest.State) bool { return len(slacktest.In(s.Posted, "D1")) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	pend, err := n.c.Pairing(ctx)
	if err != nil || len(pend.Pending) != 1 || st.Posted[0].Text != channels.PairingPrompt(pend.Pending[0].Code) {
		t.Fatalf("pairing %+v %v; posted %+v", pend, err, st.Posted)
	}
	if _, err := n.c.PairingResolve(ctx, pend.Pending[0].Code, true); err != nil {
		t.Fatal(err)
	}
	fake.Say("D1", "im", "U7", "what is in the workspace?")
	if _, err := fake.WaitFor(ctx, func(s slacktest.State) bool {
		d1 := slacktest.In(s.Posted, "D1")
		// The first words are shown as they stream; the whole text
		// replaces them once the exchange is on the chain.
		return len(d1) == 2 && d1[1].Text == "all done here"
	}); err != nil {
		t.Fatal(err)
	}
	if k := n.kinds(t); k[governance.KindToolCall] == 0 || k[governance.KindChannelMessage] != 1 || k[governance.KindChannelPairing] != 1 {
		t.Fatalf("chain kinds %v", k)
	}
	// The Events API endpoint is on the gateway and checks signatures.
	body := slacktest.EventCallback("Ev9", "D1", "im", "U7", "hi", "9.9")
	req, _ := http.NewRequest("POST", n.base+"/hooks/slack/sl", strings.NewReader(string(body)))
	req.Header.Set(slack.HeaderTimestamp, strconv.FormatInt(time.Now().Unix(), 10))
	req.Header.Set(slack.HeaderSignature, slack.Sign("wrong", time.Now().Unix(), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("badly signed event: %d", resp.StatusCode)
	}
}

// TestDiscordEndToEnd: a stranger gets only a pairing prompt; approved,
// their DM drives an agent tool call on the chain; a guild channel that is
// not allowlisted gets nothing; the answer pings nobody.
func TestDiscordEndToEnd(t *testing.T) {
	fake := discordtest.New("dc-token", discord.Intents)
	defer fake.Close()
	t.Setenv("WEFT_TEST_DC", fake.Token)
	n := startGateway(t, fmt.Sprintf("[[channels]]\nname = \"dc\"\nkind = \"discord\"\ntoken_env = \"WEFT_TEST_DC\"\nbase_url = %q\n", fake.URL),
		llmtest.Options{Handler: toolThenText("all done here")})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := fake.WaitFor(ctx, func(s discordtest.State) bool { return s.Identifies == 1 }); err != nil {
		t.Fatal(err)
	}
	ann := discordtest.User{ID: "7", Username: "ann"}
	fake.Say("D1", "", ann, "hello")
	st, err := fake.WaitFor(ctx, func(s discordtest.State) bool { return len(discordtest.In(s.Posted, "D1")) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	pend, err := n.c.Pairing(ctx)
	if err != nil || len(pend.Pending) != 1 || st.Posted[0].Content != channels.PairingPrompt(pend.Pending[0].Code) {
		t.Fatalf("pairing %+v %v; posted %+v", pend, err, st.Posted)
	}
	fake.Say("G1C1", "G1", ann, "<@900> hi", discordtest.BotUser) // not allowlisted
	if _, err := n.c.PairingResolve(ctx, pend.Pending[0].Code, true); err != nil {
		t.Fatal(err)
	}
	fake.Say("D1", "", ann, "what is in the workspace?")
	st, err = fake.WaitFor(ctx, func(s discordtest.State) bool {
		d1 := discordtest.In(s.Posted, "D1")
		return len(d1) == 2 && d1[1].Content == "all done here"
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(discordtest.In(st.Posted, "G1C1")) != 0 || discordtest.In(st.Posted, "D1")[1].MentionsParsed == nil {
		t.Fatalf("posted %+v", st.Posted)
	}
	if k := n.kinds(t); k[governance.KindToolCall] == 0 || k[governance.KindChannelMessage] != 1 || k[governance.KindChannelPairing] != 1 {
		t.Fatalf("chain kinds %v", k)
	}
}

// TestTelegramMedia: a document within the channel's caps is saved in the
// workspace (its hash on the chain) and named to the agent; one of a type
// the channel does not take is not downloaded, and the agent is told.
func TestTelegramMedia(t *testing.T) {
	fake := telegramtest.New("123:tg-media")
	defer fake.Close()
	t.Setenv("WEFT_TEST_TG", fake.Token)
	var prompts []string
	var mu sync.Mutex
	n := startGateway(t, fmt.Sprintf("[[channels]]\nname = \"tg\"\nkind = \"telegram\"\ntoken_env = \"WEFT_TEST_TG\"\nbase_url = %q\n"+
		"owners = [\"7\"]\nmedia_max_bytes = 1000\nmedia_types = [\"text/*\"]\n", fake.URL),
		llmtest.Options{OnRequest: func(r llmtest.Request) {
			mu.Lock()
			prompts = append(prompts, string(r.Body))
			mu.Unlock()
		}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	owner := telegramtest.User{ID: 7, FirstName: "Op"}
	dm := telegramtest.Chat{ID: 7, Type: "private"}
	fake.SayDocument(dm, owner, "summarise this", "../../notes.txt", "text/plain", []byte("meeting at noon"), 0)
	fake.SayDocument(dm, owner, "and this", "movie.mp4", "video/mp4", []byte("not really a movie"), 0)
	fake.SayDocument(dm, owner, "and this", "big.txt", "text/plain", make([]byte, 2000), 0)
	// Each answer shows its first words as they stream, and its whole text
	// once its exchange is on the chain.
	if _, err := fake.WaitFor(ctx, func(s []telegramtest.Sent) bool {
		done := 0
		for _, m := range s {
			if m.Text == "hello from the agent" {
				done++
			}
		}
		return done == 3
	}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(n.d.gw.hub.Workspace, "inbox", "own.tg.7", "1-notes.txt"))
	if err != nil || string(got) != "meeting at noon" {
		t.Fatalf("saved file %q %v", got, err)
	}
	mu.Lock()
	all := strings.Join(prompts, "\n")
	mu.Unlock()
	if !strings.Contains(all, "inbox/own.tg.7/1-notes.txt") || !strings.Contains(all, `type \"video/mp4\" is not accepted`) ||
		!strings.Contains(all, "over the 1000-byte cap") {
		t.Fatalf("the agent was not told about the attachments:\n%s", all)
	}
	for _, c := range fake.Calls() {
		if c.Method == "getFile" && c.Status != 200 {
			t.Fatalf("a refused file was asked for: %+v", c)
		}
	}
	downloads := 0
	for _, c := range fake.Calls() {
		if c.Method == "download" {
			downloads++
		}
	}
	if downloads != 1 {
		t.Fatalf("%d downloads, want 1 (the others are refused before)", downloads)
	}
	// The chain holds the file's hash.
	found := false
	for seq := range n.d.chain.Len() {
		ev, _ := n.d.chain.Get(seq)
		if p := string(ev.Payload); ev.Kind == governance.KindChannelMessage && strings.Contains(p, `"path":"inbox/own.tg.7/1-notes.txt"`) &&
			strings.Contains(p, `"hash":"`+channels.Hash("meeting at noon")+`"`) {
			found = true
		}
	}
	if !found {
		t.Fatal("no record of the received file")
	}
}
