package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/channels/telegram/telegramtest"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// TestGatewayCommands drives the gateway and a Telegram channel through
// the weave commands of a detached daemon: a token created (its secret
// printed once, listed never), an OpenAI request answered, a stranger
// paired with `weave pairing approve`, `weave channels status`, the token
// revoked, and an audit that finds nothing wrong.
func TestGatewayCommands(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{Handler: func(llmtest.Request) llmtest.Turn { return llmtest.Text("hello from weft") }})
	defer srv.Close()
	fake := telegramtest.New("42:tg")
	defer fake.Close()
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "test")
	t.Setenv("ANTHROPIC_API_KEY", "")
	t.Setenv("WEFT_E2E_TG", fake.Token)
	c := &cli{t: t, bin: buildWeave(t), home: filepath.Join(t.TempDir(), "home")}
	if err := os.MkdirAll(c.home, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("[agents]\nmodel = \"openai/m\"\n[gateway]\nlisten = \"127.0.0.1:0\"\nworkspace = %q\n"+
		"[[channels]]\nname = \"tg\"\nkind = \"telegram\"\ntoken_env = \"WEFT_E2E_TG\"\nbase_url = %q\n", t.TempDir(), fake.URL)
	if err := os.WriteFile(filepath.Join(c.home, "weftos.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("boot", "--detach")
	t.Cleanup(func() { c.run("shutdown") })

	c.fail(cmdline.ExitUsage, "needs --agent", "gateway", "token", "create")
	token := strings.TrimSpace(c.ok("gateway", "token", "create", "--agent", "default", "--label", "e2e"))
	if !strings.HasPrefix(token, "wgw_") || strings.Contains(token, "\n") {
		t.Fatalf("token %q", token)
	}
	if list := c.ok("gateway", "token", "list"); strings.Contains(list, token) || !strings.Contains(list, "active") || !strings.Contains(list, "e2e") {
		t.Fatalf("token list:\n%s", list)
	}
	var st apitype.ChannelsResponse
	c.jsonOut(&st, "channels", "status")
	if st.Gateway.Addr == "" || st.Gateway.Tokens != 1 || len(st.Channels) != 1 || st.Channels[0].Name != "tg" {
		t.Fatalf("status %+v", st)
	}
	chat := func(tok string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+st.Gateway.Addr+"/v1/chat/completions",
			strings.NewReader(`{"model":"weft/default","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	defer http.DefaultClient.CloseIdleConnections()
	if code, body := chat(token); code != 200 || !strings.Contains(body, "hello from weft") {
		t.Fatalf("chat: %d %s", code, body)
	}

	fake.Say(telegramtest.Chat{ID: 7, Type: "private"}, telegramtest.User{ID: 7, FirstName: "Ann"}, "hello?")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := fake.WaitFor(ctx, func(s []telegramtest.Sent) bool { return len(s) == 1 }); err != nil {
		t.Fatal(err)
	}
	var pend apitype.PairingResponse
	c.jsonOut(&pend, "pairing", "list")
	if len(pend.Pending) != 1 {
		t.Fatalf("pairing %+v", pend)
	}
	if out := c.ok("pairing", "approve", pend.Pending[0].Code); !strings.Contains(out, "approved") {
		t.Fatalf("approve: %s", out)
	}
	c.fail(cmdline.ExitError, "no pending pairing request", "pairing", "deny", pend.Pending[0].Code)
	fake.Say(telegramtest.Chat{ID: 7, Type: "private"}, telegramtest.User{ID: 7, FirstName: "Ann"}, "and now?")
	if _, err := fake.WaitFor(ctx, func(s []telegramtest.Sent) bool { return len(s) == 2 && s[1].Text == "hello from weft" }); err != nil {
		t.Fatal(err)
	}
	if out := c.ok("channels", "status"); !strings.Contains(out, "running") || !strings.Contains(out, "http://") {
		t.Fatalf("channels status:\n%s", out)
	}
	id := strings.Split(token, "_")[1]
	c.ok("gateway", "token", "revoke", id)
	if code, _ := chat(token); code != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", code)
	}
	c.ok("gov", "audit")
}
