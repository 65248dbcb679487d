package apphost

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/apppkg"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
)

// exampleApp copies examples/apps/research (its tool's module a
// placeholder: the tool host here is a fake) at version, signs it with
// priv and applies edit to its files first.
func exampleApp(t *testing.T, version string, priv ed25519.PrivateKey, edit func(dir string)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "research")
	if err := os.CopyFS(dir, os.DirFS("../../examples/apps/research")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tools/wordcount/tool.wasm"), []byte("\x00asm placeholder "+version), 0o644); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, apppkg.ManifestFile)
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte(strings.Replace(string(b), `version = "0.1.0"`, `version = "`+version+`"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(dir)
	}
	if _, err := apppkg.Sign(dir, priv); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLifecycle installs the example app signed by a trusted publisher,
// sets a setting, starts it (its service under the app's supervisor with
// the manifest's restart policy, its cron job with the setting in its
// message), upgrades it while it runs, fails an upgrade (rolled back: the
// running version stays), restarts it as at boot, stops and removes it —
// each governed act recorded, a second install refused and recorded.
func TestLifecycle(t *testing.T) {
	f := newFixture(t, "dev")
	h := f.h
	ctx := context.Background()
	pub, priv, _ := ed25519.GenerateKey(nil)
	if _, err := h.Trust(ctx, apitype.PublisherTrustRequest{Key: hex.EncodeToString(pub), Name: "me"}); err != nil {
		t.Fatal(err)
	}
	v1 := exampleApp(t, "0.1.0", priv, nil)
	a, err := h.Install(ctx, v1, false)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "research" || a.Signature != "trusted" || a.InstallSeq == 0 || a.ActionID == "" || a.Config["digest_length"] != "200" ||
		strings.Join(a.Tools, ",") != "wordcount" || strings.Join(a.Agents, ",") != "researcher" || strings.Join(a.Skills, ",") != "notes" {
		t.Fatalf("installed %+v", a)
	}
	for _, p := range []string{"agents/researcher.yaml", "skills/notes/SKILL.md", "apps/research/app.json"} {
		if _, err := os.Stat(filepath.Join(f.home, p)); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	if got := f.tools.names(); strings.Join(got, ",") != "wordcount" {
		t.Fatalf("tools %v", got)
	}
	if _, err := h.Install(ctx, v1, false); !errors.Is(err, ErrAppExists) {
		t.Fatalf("second install: %v", err)
	}
	if n := f.ledger.count(governance.KindRefusal, "app.install"); n != 1 {
		t.Fatalf("app.install refusals: %d", n)
	}

	if _, err := h.Configure(ctx, "research", apitype.AppConfigRequest{Set: map[string]string{"digest_length": "50"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Configure(ctx, "research", apitype.AppConfigRequest{Set: map[string]string{"digest_length": "many"}}); err == nil {
		t.Fatal("a value not of its type was set")
	}
	if n := f.ledger.count(governance.KindRefusal, "app.configure"); n != 1 {
		t.Fatalf("app.configure refusals: %d", n)
	}
	a, err = h.Start(ctx, "research")
	if err != nil || !a.Running || len(a.CronIDs) != 1 || a.Supervisor != "app.research" {
		t.Fatalf("start %+v %v", a, err)
	}
	svc := f.services.under("app.research")
	if len(svc) != 1 || svc[0].Name != "researcher" || svc[0].Supervision.Restart != agentdef.RestartPermanent {
		t.Fatalf("services %+v", svc)
	}
	jobs := f.cron.list()
	if len(jobs) != 1 || !strings.Contains(string(jobs[0].Payload.Text), "at most 50 words") || jobs[0].Target != kernel.ToService("research") {
		t.Fatalf("cron %+v", jobs)
	}

	// An upgrade while it runs: stopped, replaced, started again.
	a, err = h.Install(ctx, exampleApp(t, "0.2.0", priv, nil), true)
	if err != nil || a.Version != "0.2.0" || !a.Running || f.services.stops != 1 || len(f.cron.list()) != 1 {
		t.Fatalf("upgrade %+v %v (stops %d)", a, err, f.services.stops)
	}
	// A broken upgrade is rolled back to the running version.
	f.tools.installFails = func(path string) error {
		if strings.Contains(path, "0.3.0-") {
			return errors.New("not a WASM module")
		}
		return nil
	}
	if _, err := h.Install(ctx, exampleApp(t, "0.3.0", priv, nil), true); err == nil || !strings.Contains(err.Error(), "not a WASM module") {
		t.Fatalf("broken upgrade: %v", err)
	}
	if a, err = h.App("research"); err != nil || a.Version != "0.2.0" || !a.Running || strings.Join(f.tools.names(), ",") != "wordcount" ||
		len(f.services.under("app.research")) != 1 {
		t.Fatalf("after the rollback %+v %v", a, err)
	}

	// At boot: the processes are gone, the cron job was restored from
	// the kernel's file; the app starts again with a fresh job only.
	f.services.running = map[string][]agentdef.Definition{}
	old := a.CronIDs[0]
	h.Restore(ctx)
	if a, err = h.App("research"); err != nil || !a.Running || len(a.CronIDs) != 1 || a.CronIDs[0] == old || len(f.cron.list()) != 1 ||
		len(f.services.under("app.research")) != 1 {
		t.Fatalf("after Restore %+v %v (cron %+v)", a, err, f.cron.list())
	}

	if a, err = h.Stop(ctx, "research"); err != nil || a.Running || len(f.cron.list()) != 0 || len(f.services.under("app.research")) != 0 {
		t.Fatalf("stop %+v %v", a, err)
	}
	if err := h.Remove(ctx, "research"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"agents/researcher.yaml", "skills/notes", "apps/research"} {
		if _, err := os.Stat(filepath.Join(f.home, p)); !os.IsNotExist(err) {
			t.Fatalf("%s after remove: %v", p, err)
		}
	}
	if len(f.tools.names()) != 0 {
		t.Fatalf("tools after remove %v", f.tools.names())
	}
	if list, err := h.List(); err != nil || len(list) != 0 {
		t.Fatalf("list %+v %v", list, err)
	}
	if err := h.Remove(ctx, "research"); !errors.Is(err, ErrUnknownApp) {
		t.Fatalf("remove again: %v", err)
	}
	for kind, want := range map[string]int{governance.KindAppRemove: 1, governance.KindAppConfigure: 1} {
		if n := f.ledger.count(kind, ""); n < want {
			t.Fatalf("%s records: %d", kind, n)
		}
	}
}

// TestRequestsBound: an app whose agent or tool asks for more than the
// manifest requests is refused before governance, the refusal recorded,
// and nothing of it is left in the home.
func TestRequestsBound(t *testing.T) {
	f := newFixture(t, "dev")
	ctx := context.Background()
	_, priv, _ := ed25519.GenerateKey(nil)
	replace := func(file, old, new string) func(string) {
		return func(dir string) {
			p := filepath.Join(dir, file)
			b, err := os.ReadFile(p)
			if err != nil || !strings.Contains(string(b), old) {
				t.Fatalf("%s: %q not found (%v)", file, old, err)
			}
			if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, edit := range map[string]func(string){
		"capability": replace("agents/researcher.yaml", "can_ipc: true", "can_ipc: true\n  can_network: true"),
		"host":       replace("tools/wordcount/tool.toml", "hosts = []", `hosts = ["api.example.com"]`),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := f.h.Install(ctx, exampleApp(t, "0.1.0", priv, edit), false); err == nil || !strings.Contains(err.Error(), "does not request") {
				t.Fatalf("install: %v", err)
			}
		})
	}
	if n := f.ledger.count(governance.KindRefusal, "app.install"); n != 2 {
		t.Fatalf("app.install refusals: %d", n)
	}
	if _, err := os.Stat(filepath.Join(f.home, "agents")); !os.IsNotExist(err) {
		t.Fatalf("agents/ after refusals: %v", err)
	}
}

// TestConfigValue: a setting's value in effect is the one set, else its
// default; one with neither is named by checkAppConfig.
func TestConfigValue(t *testing.T) {
	m, err := apppkg.ParseManifest([]byte("name = \"x\"\nversion = \"1.0.0\"\n[config]\nwords = 100\nregion = { type = \"string\" }\n"))
	if err != nil {
		t.Fatal(err)
	}
	get := configValue("x", m, map[string]string{"region": "eu"})
	for key, want := range map[string]string{"words": "100", "region": "eu"} {
		if v, err := get(key); err != nil || v != want {
			t.Errorf("%s = %q %v, want %q", key, v, err, want)
		}
	}
	if _, err := get("nope"); !errors.Is(err, apppkg.ErrConfig) {
		t.Errorf("undeclared: %v", err)
	}
	if err := checkAppConfig("x", m, nil); !errors.Is(err, apppkg.ErrConfig) || !strings.Contains(err.Error(), "region has no value") {
		t.Errorf("missing: %v", err)
	}
	if err := checkAppConfig("x", m, map[string]string{"region": "us"}); err != nil {
		t.Errorf("complete: %v", err)
	}
	if SecretHash("a", "k", "v") == SecretHash("b", "k", "v") || SecretHash("a", "k", "v") == SecretHash("a", "j", "v") {
		t.Error("secret hashes of different apps or keys are equal")
	}
}
