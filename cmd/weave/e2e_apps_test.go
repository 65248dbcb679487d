package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/apppkg"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// helperApp writes a small app package (one service agent whose system
// prompt refers to its settings, one of them secret) at version and signs
// it with priv.
func helperApp(t *testing.T, version string, priv ed25519.PrivateKey) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "helper")
	files := map[string]string{
		apppkg.ManifestFile: `name = "helper"
version = "` + version + `"
description = "answers in the tone it is configured with"
agents = ["agents/helper.yaml"]

[[services]]
agent = "helper"

[requests]
capabilities = ["can_exec_tools", "can_ipc"]

[config]
tone = "formal"
max_words = 50
verbose = { type = "bool", default = false, description = "explain more" }
api_token = { type = "string", secret = true, description = "the token the agent quotes" }
`,
		"agents/helper.yaml": `name: helper
model: openai/m
system_prompt: |
  Answer in a ${config.tone} tone, in at most ${config.max_words} words. Verbose: ${config.verbose}. Token: ${config.api_token}. Literal: $${config.tone}.
tools: [read_file]
services:
  - name: helper
    methods: [ask]
capabilities:
  can_exec_tools: true
  can_ipc: true
  tools_allow: [read_file]
`,
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := apppkg.Sign(dir, priv); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chainEvents returns the kind and payload of every event of the chain.
func (c *cli) chainEvents() []struct {
	Kind    string          `json:"kind"`
	Payload json.RawMessage `json:"payload"`
} {
	c.t.Helper()
	var out []struct {
		Kind    string          `json:"kind"`
		Payload json.RawMessage `json:"payload"`
	}
	for _, line := range strings.Split(strings.TrimSpace(c.ok("chain", "export")), "\n") {
		var ev struct {
			Kind    string          `json:"kind"`
			Payload json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			c.t.Fatalf("chain export line %q: %v", line, err)
		}
		out = append(out, ev)
	}
	return out
}

// TestAppConfigAndTrust: a publisher key trusted with `weave app trust
// add` (an app.trust record) lets the app it signed install without a
// human in dev; the app's settings are shown with their defaults, changed
// by app.configure acts (an unknown key and a value of the wrong type
// refused, each refusal recorded), and reach its agent's system prompt —
// as the fake model server sees it — at the next start (or at once with
// --restart); a secret set from standard input is never shown, nor written
// in clear anywhere in the home but the app's config file, and the chain
// holds its hash; removing the key (app.distrust) makes the next signed
// upgrade wait for a human again. The chain audits clean.
func TestAppConfigAndTrust(t *testing.T) {
	var mu sync.Mutex
	var prompts []string
	srv := llmtest.NewOpenAI(llmtest.Options{Handler: func(r llmtest.Request) llmtest.Turn {
		var body struct {
			Messages []struct {
				Role    string `json:"role"`
				Content any    `json:"content"`
			} `json:"messages"`
		}
		if err := r.Decode(&body); err == nil {
			for _, m := range body.Messages {
				if s, ok := m.Content.(string); ok && m.Role == "system" {
					mu.Lock()
					prompts = append(prompts, s)
					mu.Unlock()
				}
			}
		}
		return llmtest.Text("noted")
	}})
	defer srv.Close()
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "test")
	t.Setenv("ANTHROPIC_API_KEY", "")
	lastPrompt := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(prompts) == 0 {
			return ""
		}
		return prompts[len(prompts)-1]
	}
	c := &cli{t: t, bin: buildWeave(t), home: filepath.Join(t.TempDir(), "home")}
	c.ok("boot", "--detach")
	t.Cleanup(func() { c.run("shutdown") })

	// Trust the publisher's key, from a key file.
	pub, priv, _ := ed25519.GenerateKey(nil)
	key := hex.EncodeToString(pub)
	if out := c.ok("app", "trust", "list"); !strings.Contains(out, "no trusted publisher keys") {
		t.Fatalf("trust list: %s", out)
	}
	keyFile := filepath.Join(t.TempDir(), "acme.pub")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := c.ok("app", "trust", "add", keyFile, "--name", "acme"); !strings.Contains(out, "trusted "+key[:16]+" (acme)") {
		t.Fatalf("trust add: %s", out)
	}
	c.fail(cmdline.ExitError, "already trusted", "app", "trust", "add", key)
	c.fail(cmdline.ExitError, "not an Ed25519 public key", "app", "trust", "add", "00"+key[2:]+"00")
	var list struct {
		Keys []struct {
			ID, Key, Name string
			Seq           uint64
		}
	}
	c.jsonOut(&list, "app", "trust", "list")
	if len(list.Keys) != 1 || list.Keys[0].Key != key || list.Keys[0].Name != "acme" || list.Keys[0].Seq == 0 {
		t.Fatalf("trust list: %+v", list)
	}

	// Signed by a trusted key: installs in dev without waiting.
	if out := c.ok("app", "install", helperApp(t, "0.1.0", priv)); !strings.Contains(out, "helper 0.1.0 installed (trusted") {
		t.Fatalf("install: %s", out)
	}

	// Settings: defaults, a required secret; refusals.
	out := c.ok("app", "config", "helper")
	for _, want := range []string{"tone", "formal", "default", "max_words", "int", "50", "verbose", "bool", "false", "explain more",
		"api_token", "(secret, not set: required)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("app config lacks %q:\n%s", want, out)
		}
	}
	c.fail(cmdline.ExitError, "api_token has no value", "app", "start", "helper")
	c.fail(cmdline.ExitError, `has no setting "nope"`, "app", "config", "helper", "nope=1")
	c.fail(cmdline.ExitError, "max_words: invalid app configuration: want an int", "app", "config", "helper", "max_words=many")
	c.fail(cmdline.ExitError, "verbose", "app", "config", "helper", "verbose=perhaps")
	c.fail(cmdline.ExitUsage, "want KEY=VALUE", "app", "config", "helper", "tone")
	c.fail(cmdline.ExitError, "no such app", "app", "config", "nosuch", "tone=x")

	if out := c.ok("app", "config", "helper", "tone=casual", "max_words=20"); !strings.Contains(out, "max_words=20, tone=casual") ||
		!strings.Contains(out, "chain seq") || !strings.Contains(out, "takes effect when it starts") {
		t.Fatalf("config set: %s", out)
	}
	const secret = "s3cr3t-t0ken-value"
	cmd := exec.Command(c.bin, "app", "config", "helper", "--stdin", "api_token", "--home", c.home)
	cmd.Stdin = strings.NewReader(secret + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || !strings.Contains(stdout.String(), "api_token=(secret)") {
		t.Fatalf("config secret: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	shown := c.ok("app", "config", "helper") + c.ok("app", "config", "helper", "--json") + c.ok("app", "inspect", "helper") +
		c.ok("app", "list", "--json") + stdout.String()
	if strings.Contains(shown, secret) {
		t.Fatalf("the secret was shown:\n%s", shown)
	}
	if !strings.Contains(shown, "(secret, sha256:") || !strings.Contains(shown, "casual") {
		t.Fatalf("app config after set:\n%s", shown)
	}

	// Delivered: the agent's system prompt, as the model sees it.
	c.ok("app", "start", "helper")
	var answer struct {
		Reply struct {
			Payload struct {
				JSON struct {
					Answer string `json:"answer"`
				} `json:"json"`
			} `json:"payload"`
		} `json:"reply"`
	}
	ask := func() {
		t.Helper()
		c.jsonOut(&answer, "ipc", "send", "service:helper.ask", "hello", "--request", "--timeout", "30s")
		if answer.Reply.Payload.JSON.Answer != "noted" {
			t.Fatalf("the app's service answered %+v", answer)
		}
	}
	ask()
	want := "Answer in a casual tone, in at most 20 words. Verbose: false. Token: " + secret + ". Literal: ${config.tone}."
	if p := lastPrompt(); !strings.Contains(p, want) {
		t.Fatalf("system prompt %q lacks %q", p, want)
	}
	// A change to a running app waits for its next start …
	if out := c.ok("app", "config", "helper", "tone=terse"); !strings.Contains(out, "takes effect at the next start") {
		t.Fatalf("config while running: %s", out)
	}
	// … or takes effect at once with --restart.
	if out := c.ok("app", "config", "helper", "--unset", "max_words", "--restart"); !strings.Contains(out, "unset max_words") ||
		!strings.Contains(out, "restarted") {
		t.Fatalf("config --restart: %s", out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for c.serviceOwner("helper") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the app's service did not come back after the restart")
		}
	}
	ask()
	if p := lastPrompt(); !strings.Contains(p, "Answer in a terse tone, in at most 50 words.") {
		t.Fatalf("system prompt after the restart: %q", p)
	}

	// The chain: four app.configure acts, the refusals, the secret only as
	// its hash; and nowhere in the home in clear but the config file.
	configure, trust, refused := 0, 0, map[string]int{}
	for _, ev := range c.chainEvents() {
		if bytes.Contains(ev.Payload, []byte(secret)) {
			t.Fatalf("the secret is on the chain in clear: %s %s", ev.Kind, ev.Payload)
		}
		switch ev.Kind {
		case "app.configure":
			configure++
			if bytes.Contains(ev.Payload, []byte(`"secrets":["api_token"]`)) && !bytes.Contains(ev.Payload, []byte(`"api_token":"sha256:`)) {
				t.Fatalf("secret configure record: %s", ev.Payload)
			}
		case "app.trust":
			trust++
		case "governance.refusal":
			var r struct{ Request struct{ Action string } }
			_ = json.Unmarshal(ev.Payload, &r)
			refused[r.Request.Action]++
		}
	}
	if configure != 4 || trust != 1 || refused["app.configure"] != 4 || refused["app.trust"] != 2 {
		t.Fatalf("on the chain: %d app.configure, %d app.trust, refusals %v", configure, trust, refused)
	}
	err := filepath.WalkDir(c.home, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSocket != 0 {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(secret)) && p != filepath.Join(c.home, "apps", "helper", "config.json") {
			t.Errorf("the secret is in clear in %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Distrust the key: the next upgrade it signed waits for a human.
	if out := c.ok("app", "trust", "remove", "acme"); !strings.Contains(out, "no longer trusted: "+key[:16]+" (acme)") {
		t.Fatalf("trust remove: %s", out)
	}
	c.fail(cmdline.ExitError, "no trusted publisher key matches", "app", "trust", "remove", "acme")
	if out := c.ok("app", "trust", "list"); !strings.Contains(out, "no trusted publisher keys") {
		t.Fatalf("trust list after remove: %s", out)
	}
	up := exec.Command(c.bin, "app", "upgrade", "helper", helperApp(t, "0.2.0", priv), "--home", c.home)
	var upOut bytes.Buffer
	up.Stdout, up.Stderr = &upOut, &upOut
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- up.Wait() }()
	var id string
	deadline = time.Now().Add(20 * time.Second)
	for id == "" {
		var items []struct {
			ID      string
			Request struct {
				Action  string
				Context struct{ Extra map[string]string }
			}
		}
		c.jsonOut(&items, "gov", "pending")
		for _, it := range items {
			if it.Request.Action == "app.install" && it.Request.Context.Extra["signature"] == "untrusted" && it.Request.Context.Extra["publisher"] == key {
				id = it.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the upgrade signed by a distrusted key did not wait for a human: %s", upOut.String())
		}
	}
	c.ok("gov", "reject", id, "--reason", "publisher no longer trusted")
	if err := <-done; err == nil || !strings.Contains(upOut.String(), "rejected by operator") {
		t.Fatalf("rejected upgrade: %v %s", err, upOut.String())
	}
	if out := c.ok("app", "config", "helper"); !strings.Contains(out, "helper 0.1.0 (running)") {
		t.Fatalf("after the rejected upgrade: %s", out)
	}
	distrust := 0
	for _, ev := range c.chainEvents() {
		if ev.Kind == "app.distrust" {
			distrust++
		}
	}
	if distrust != 1 {
		t.Fatalf("app.distrust records: %d", distrust)
	}
	if out := c.ok("gov", "audit"); !strings.Contains(out, "findings: none") {
		t.Fatalf("audit:\n%s", out)
	}
}
