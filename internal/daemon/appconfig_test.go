//go:build !nollm

package daemon

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/apphost"
	"github.com/weftos/weftos/internal/apppkg"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// configApp writes a small app (a service agent and an hourly cron job,
// no tools) whose [config] is cfg and whose prompt is prompt.
func configApp(t *testing.T, version, cfg, prompt string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cfgapp")
	files := map[string]string{
		apppkg.ManifestFile: "name = \"cfgapp\"\nversion = \"" + version + "\"\nagents = [\"agents/cfg.yaml\"]\n" +
			"[[services]]\nagent = \"cfg\"\n[[cron]]\nschedule = \"@every 1h\"\nagent = \"cfg\"\nmessage = \"digest in ${config.words} words\"\n" +
			"[requests]\ncapabilities = [\"can_exec_tools\", \"can_ipc\"]\n[config]\n" + cfg,
		"agents/cfg.yaml": "name: cfg\nmodel: openai/m\nsystem_prompt: \"" + prompt + "\"\ntools: [read_file]\nservices:\n  - name: cfgsvc\n" +
			"capabilities:\n  can_exec_tools: true\n  can_ipc: true\n  tools_allow: [read_file]\n",
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
	return dir
}

// TestAppConfigLifecycle: settings are checked at install (a prompt naming
// an undeclared setting is refused), delivered to the cron job's message
// at start, kept across an upgrade (shown as undeclared when the new
// version drops the key), and an upgrade whose types the values set no
// longer fit, or that would show a secret, is refused.
func TestAppConfigLifecycle(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{Handler: func(llmtest.Request) llmtest.Turn { return llmtest.Text("ok") }})
	defer srv.Close()
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "k")
	t.Setenv("ANTHROPIC_API_KEY", "")
	home := t.TempDir()
	d := open(t, home)
	defer closeD(t, d)
	ctx := context.Background()

	// A hand-edited trusted_keys in the old format (a bare key a line) is
	// honoured, and listed as trusted by hand.
	pub, priv, _ := ed25519.GenerateKey(nil)
	if err := os.MkdirAll(filepath.Join(home, apphost.Dir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, apphost.Dir, apppkg.TrustFile), []byte(strings.ToUpper(hex.EncodeToString(pub))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if list, err := d.apps.Publishers(); err != nil || len(list.Keys) != 1 || list.Keys[0].Seq != 0 || list.Keys[0].Key != hex.EncodeToString(pub) {
		t.Fatalf("publishers %+v %v", list, err)
	}
	install := func(dir string, upgrade bool) (apitype.App, error) {
		t.Helper()
		if _, err := apppkg.Sign(dir, priv); err != nil {
			t.Fatal(err)
		}
		return d.apps.Install(ctx, dir, upgrade)
	}

	cfg := "words = 100\ntoken = { type = \"string\", secret = true, default = \"\" }\nmode = \"a\"\n"
	if _, err := install(configApp(t, "0.1.0", cfg, "use ${config.nope}"), false); err == nil || !strings.Contains(err.Error(), "no such setting") {
		t.Fatalf("a prompt naming an undeclared setting: %v", err)
	}
	a, err := install(configApp(t, "0.1.0", cfg, "at most ${config.words} words, token ${config.token}"), false)
	if err != nil || a.Signature != "trusted" || a.Config["words"] != "100" {
		t.Fatalf("install: %+v %v", a, err)
	}
	if _, err := d.apps.Configure(ctx, "cfgapp", apitype.AppConfigRequest{Set: map[string]string{"words": "7", "token": "tok", "mode": "b"}}); err != nil {
		t.Fatal(err)
	}
	// Unset and set of the same key, and an empty change, are refused.
	for _, req := range []apitype.AppConfigRequest{{Set: map[string]string{"mode": "c"}, Unset: []string{"mode"}}, {}} {
		if _, err := d.apps.Configure(ctx, "cfgapp", req); !errors.Is(err, apppkg.ErrConfig) {
			t.Fatalf("%+v: %v", req, err)
		}
	}
	if _, err := d.apps.Start(ctx, "cfgapp"); err != nil {
		t.Fatal(err)
	}
	jobs := d.kernel.CronJobs()
	if len(jobs) != 1 || !strings.Contains(string(jobs[0].Payload.Text), "digest in 7 words") {
		t.Fatalf("cron %+v", jobs)
	}
	def, err := d.agenthost.FindAgent("cfg", t.TempDir())
	if err != nil || def.SystemPrompt != "at most 7 words, token tok" {
		t.Fatalf("definition %q %v", def.SystemPrompt, err)
	}
	if _, err := d.apps.Stop(ctx, "cfgapp"); err != nil {
		t.Fatal(err)
	}

	// An upgrade under which words is a bool, or token not a secret, is
	// refused; the installed version stays.
	for _, bad := range []string{
		"words = true\ntoken = { type = \"string\", secret = true, default = \"\" }\n",
		"words = 1\ntoken = \"\"\n",
	} {
		if _, err := install(configApp(t, "0.2.0", bad, "x"), true); !errors.Is(err, apppkg.ErrConfig) {
			t.Fatalf("upgrade with %q: %v", bad, err)
		}
	}
	// One that drops mode keeps its value, shown as undeclared (hash only).
	if _, err := install(configApp(t, "0.2.0", "words = 1\ntoken = { type = \"string\", secret = true, default = \"\" }\n", "x"), true); err != nil {
		t.Fatal(err)
	}
	view, err := d.apps.Config("cfgapp")
	if err != nil || view.Version != "0.2.0" || len(view.Settings) != 3 {
		t.Fatalf("view %+v %v", view, err)
	}
	for _, s := range view.Settings {
		switch s.Key {
		case "words":
			if s.Source != apitype.ConfigSourceSet || *s.Value != "7" {
				t.Fatalf("words %+v", s)
			}
		case "token":
			if s.Value != nil || s.Hash != apphost.SecretHash("cfgapp", "token", "tok") {
				t.Fatalf("token %+v", s)
			}
		case "mode":
			if !s.Undeclared || s.Value != nil || s.Hash == "" {
				t.Fatalf("mode %+v", s)
			}
		}
	}
	if view, err = d.apps.Configure(ctx, "cfgapp", apitype.AppConfigRequest{Unset: []string{"mode", "words"}}); err != nil || len(view.Settings) != 2 {
		t.Fatalf("unset %+v %v", view, err)
	}

	// An upgrade of a running app that brings a required setting is
	// installed, but stays stopped until the setting is set.
	if _, err := d.apps.Start(ctx, "cfgapp"); err != nil {
		t.Fatal(err)
	}
	v3 := "words = 1\ntoken = { type = \"string\", secret = true, default = \"\" }\nregion = { type = \"string\" }\n"
	if _, err := install(configApp(t, "0.3.0", v3, "in ${config.region}"), true); err == nil ||
		!strings.Contains(err.Error(), "0.3.0 installed") || !strings.Contains(err.Error(), "region has no value") {
		t.Fatalf("upgrade with a required setting: %v", err)
	}
	if a, err := d.apps.App("cfgapp"); err != nil || a.Version != "0.3.0" || a.Running {
		t.Fatalf("after: %+v %v", a, err)
	}
	if _, err := d.apps.Configure(ctx, "cfgapp", apitype.AppConfigRequest{Set: map[string]string{"region": "eu"}, Restart: true}); err != nil {
		t.Fatal(err)
	}
	if a, err := d.apps.Start(ctx, "cfgapp"); err != nil || !a.Running {
		t.Fatalf("start: %+v %v", a, err)
	}
	if def, err := d.agenthost.FindAgent("cfg", t.TempDir()); err != nil || def.SystemPrompt != "in eu" {
		t.Fatalf("definition %q %v", def.SystemPrompt, err)
	}

	// Removing the app removes its settings.
	if err := d.apps.Remove(ctx, "cfgapp"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(home, apphost.Dir, "cfgapp", "config.json")); !os.IsNotExist(err) {
		t.Fatalf("config.json after remove: %v", err)
	}
	if _, err := d.apps.Configure(ctx, "cfgapp", apitype.AppConfigRequest{Set: map[string]string{"words": "1"}}); !errors.Is(err, apphost.ErrUnknownApp) {
		t.Fatalf("configure a removed app: %v", err)
	}
}

// BenchmarkAppSettings measures an app.configure act (checks, the
// decision and outcome on the chain, the config file written) and what a
// start of an app's agent pays for its settings (FindAgent with the
// substitution, against a definition with no reference).
func BenchmarkAppSettings(b *testing.B) {
	home := b.TempDir()
	d := open(b, home)
	defer closeD(b, d)
	ctx := context.Background()
	dir := filepath.Join(b.TempDir(), "cfgapp")
	for name, body := range map[string]string{
		apppkg.ManifestFile: "name = \"cfgapp\"\nversion = \"0.1.0\"\nagents = [\"agents/cfg.yaml\", \"agents/plain.yaml\"]\n" +
			"[requests]\ncapabilities = [\"can_exec_tools\", \"can_ipc\"]\n[config]\nwords = 100\ntone = \"formal\"\n",
		"agents/cfg.yaml":   "name: cfg\nsystem_prompt: \"" + strings.Repeat("Answer in a ${config.tone} tone in ${config.words} words. ", 20) + "\"\ntools: [read_file]\ncapabilities:\n  can_exec_tools: true\n  tools_allow: [read_file]\n",
		"agents/plain.yaml": "name: plain\nsystem_prompt: \"" + strings.Repeat("Answer in a formal tone in 100 words. ", 20) + "\"\ntools: [read_file]\ncapabilities:\n  can_exec_tools: true\n  tools_allow: [read_file]\n",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	pub, priv, _ := ed25519.GenerateKey(nil)
	if _, err := apppkg.Sign(dir, priv); err != nil {
		b.Fatal(err)
	}
	if _, err := d.apps.Trust(ctx, apitype.PublisherTrustRequest{Key: hex.EncodeToString(pub)}); err != nil {
		b.Fatal(err)
	}
	if _, err := d.apps.Install(ctx, dir, false); err != nil {
		b.Fatal(err)
	}
	ws := b.TempDir()
	b.Run("configure", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			if _, err := d.apps.Configure(ctx, "cfgapp", apitype.AppConfigRequest{Set: map[string]string{"words": strconv.Itoa(i)}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, agent := range []string{"cfg", "plain"} {
		b.Run("find-"+agent, func(b *testing.B) {
			for b.Loop() {
				if _, err := d.agenthost.FindAgent(agent, ws); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
