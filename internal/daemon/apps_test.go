//go:build !nochannels && !nollm

package daemon

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/agenthost"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/apphost"
	"github.com/weftos/weftos/internal/apppkg"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// exampleApp copies examples/apps/research to a temporary directory,
// builds its WASM tool from source and applies edit to its manifest.
func exampleApp(t testing.TB, edit func(string) string) string {
	t.Helper()
	src := "../../examples/apps/research"
	dst := filepath.Join(t.TempDir(), "research")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dst, "tools/wordcount/tool.wasm"), ".")
	build.Dir = filepath.Join(src, "tools/wordcount")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building wordcount: %v\n%s", err, out)
	}
	if edit != nil {
		b, err := os.ReadFile(filepath.Join(dst, apppkg.ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, apppkg.ManifestFile), []byte(edit(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// waitPending waits for one deferred act of action and returns it.
func (n *gwNode) waitPending(t *testing.T, action string) apitype.PendingItem {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		list, err := n.c.GovPending(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range list {
			if it.Request.Action == action {
				return it
			}
		}
		time.Sleep(20 * time.Millisecond) // polling the API: the pending item appears asynchronously
	}
	t.Fatalf("no pending %s", action)
	return apitype.PendingItem{}
}

// TestAppLifecycle installs the example app (unsigned: deferred until a
// human approves), starts it (its service under the app's supervisor, its
// cron job), asks its agent something that makes it call the app's WASM
// tool, upgrades it to a signed version while it runs, fails an upgrade
// (rolled back: the running version stays), stops and removes it — every
// step on the chain, and the audit clean.
func TestAppLifecycle(t *testing.T) {
	var turn atomic.Int32
	n := startGateway(t, "", llmtest.Options{Handler: func(llmtest.Request) llmtest.Turn {
		if n := turn.Add(1); n%2 == 1 {
			return llmtest.Calls(llmtest.ToolCall{ID: fmt.Sprintf("w%d", n), Name: "wordcount", Arguments: `{"text":"one two three"}`})
		}
		return llmtest.Text("three words")
	}})
	ctx := context.Background()
	pkgDir := exampleApp(t, nil)

	// Unsigned: the install waits for a human.
	type result struct {
		a   apitype.App
		err error
	}
	done := make(chan result, 1)
	go func() {
		a, err := n.c.AppInstall(ctx, pkgDir)
		done <- result{a, err}
	}()
	it := n.waitPending(t, "app.install")
	if it.Request.Context.Extra["signature"] != "unsigned" || !strings.Contains(it.Request.Context.Extra["requests"], "tool:wordcount") ||
		it.Request.Context.Extra["digest"] == "" {
		t.Fatalf("pending install %+v", it.Request.Context)
	}
	if _, err := n.c.GovResolve(ctx, it.ID, true, apitype.ResolveRequest{}); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.a.Name != "research" || res.a.Version != "0.1.0" || res.a.Signature != "unsigned" || res.a.InstallSeq == 0 {
		t.Fatalf("installed %+v", res.a)
	}
	if _, err := n.c.AppInstall(ctx, pkgDir); !errors.Is(err, apitype.ErrAppExists) {
		t.Fatalf("second install: %v", err)
	}
	if _, err := n.c.Tool(ctx, "wordcount"); err != nil {
		t.Fatalf("the app's tool: %v", err)
	}

	// Start: the service answers, its agent calls the app's WASM tool.
	a, err := n.c.AppStart(ctx, "research")
	if err != nil || !a.Running || len(a.CronIDs) != 1 {
		t.Fatalf("start: %+v %v", a, err)
	}
	ask := func() string {
		t.Helper()
		out, err := n.c.Send(ctx, apitype.SendRequest{Target: kernel.ToMethod("research", "ask"), Payload: kernel.Text("count"),
			Request: true, Timeout: kernel.Millis(30 * time.Second)})
		if err != nil || out.Reply == nil {
			t.Fatalf("ask: %+v %v", out, err)
		}
		return string(out.Reply.Payload.JSON)
	}
	if rep := ask(); !strings.Contains(rep, "three words") {
		t.Fatalf("reply %s", rep)
	}
	if calls, _ := n.actsFor(t, "wordcount"); calls != 1 {
		t.Fatalf("wordcount calls on the chain: %d", calls)
	}
	jobs, err := n.c.CronList(ctx)
	if err != nil || len(jobs) != 1 || jobs[0].ID != a.CronIDs[0] {
		t.Fatalf("cron %+v %v", jobs, err)
	}

	// A signed upgrade by a trusted publisher: no approval needed; it
	// runs again after.
	pub, priv, _ := ed25519.GenerateKey(nil)
	if err := os.WriteFile(filepath.Join(n.home, apphost.Dir, "trusted_keys"), []byte(hex.EncodeToString(pub)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v2 := exampleApp(t, func(m string) string { return strings.Replace(m, `version = "0.1.0"`, `version = "0.2.0"`, 1) })
	if _, err := apppkg.Sign(v2, priv); err != nil {
		t.Fatal(err)
	}
	a, err = n.c.AppUpgrade(ctx, "research", v2)
	if err != nil || a.Version != "0.2.0" || a.Signature != "trusted" || !a.Running {
		t.Fatalf("upgrade: %+v %v", a, err)
	}
	if rep := ask(); !strings.Contains(rep, "three words") {
		t.Fatalf("reply after the upgrade %s", rep)
	}

	// A broken upgrade (its tool is not a WASM module) is rolled back.
	v3 := exampleApp(t, func(m string) string { return strings.Replace(m, `version = "0.1.0"`, `version = "0.3.0"`, 1) })
	if err := os.WriteFile(filepath.Join(v3, "tools/wordcount/tool.wasm"), []byte("not wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := apppkg.Sign(v3, priv); err != nil {
		t.Fatal(err)
	}
	if _, err := n.c.AppUpgrade(ctx, "research", v3); err == nil {
		t.Fatal("a broken upgrade succeeded")
	}
	a, err = n.c.App(ctx, "research")
	if err != nil || a.Version != "0.2.0" || !a.Running {
		t.Fatalf("after the failed upgrade: %+v %v", a, err)
	}
	if rep := ask(); !strings.Contains(rep, "three words") {
		t.Fatalf("reply after the rollback %s", rep)
	}

	// Stop, remove: nothing of it is left but the chain's history.
	if a, err = n.c.AppStop(ctx, "research"); err != nil || a.Running {
		t.Fatalf("stop %+v %v", a, err)
	}
	if jobs, _ := n.c.CronList(ctx); len(jobs) != 0 {
		t.Fatalf("cron after stop: %+v", jobs)
	}
	if _, err := n.c.AppRemove(ctx, "research"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.c.Tool(ctx, "wordcount"); err == nil {
		t.Fatal("the app's tool outlived it")
	}
	if _, err := os.Stat(filepath.Join(n.home, "agents", "researcher.yaml")); !os.IsNotExist(err) {
		t.Fatalf("the app's agent outlived it: %v", err)
	}
	k := n.kinds(t)
	if k[governance.KindAppInstall] != 3 || k[governance.KindAppRemove] != 1 {
		t.Fatalf("app records on the chain: %v", k)
	}
	rep, err := n.c.GovAudit(ctx, 0)
	if err != nil || len(rep.Findings) != 0 {
		t.Fatalf("audit: %+v %v", rep, err)
	}
}

// BenchmarkAppInstall installs and removes the example app (signed by a
// trusted publisher, so no human waits in the loop): package load and
// digest, checks, the app.install act, its WASM tool's install (compiled)
// and the files in the home.
func BenchmarkAppInstall(b *testing.B) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	b.Setenv("OPENAI_BASE_URL", srv.URL)
	b.Setenv("OPENAI_API_KEY", "k")
	home := b.TempDir()
	d := open(b, home)
	defer closeD(b, d)
	pkg := exampleApp(b, nil)
	pub, priv, _ := ed25519.GenerateKey(nil)
	if _, err := apppkg.Sign(pkg, priv); err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(home, apphost.Dir), 0o700); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, apphost.Dir, "trusted_keys"), []byte(hex.EncodeToString(pub)), 0o600); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var total time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := d.apps.Install(ctx, pkg, false); err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
		if err := d.apps.Remove(ctx, "research"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "install-ms")
}

// TestAppRestartsWithTheNode: an app running when the node stops runs
// again after the next boot, with its cron job once.
func TestAppRestartsWithTheNode(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{Handler: func(llmtest.Request) llmtest.Turn { return llmtest.Text("ok") }})
	defer srv.Close()
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "k")
	t.Setenv("ANTHROPIC_API_KEY", "")
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "weftos.toml"), []byte("[agents]\nmodel = \"openai/m\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pkg := exampleApp(t, nil)
	pub, priv, _ := ed25519.GenerateKey(nil)
	if _, err := apppkg.Sign(pkg, priv); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(home, apphost.Dir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, apphost.Dir, "trusted_keys"), []byte(hex.EncodeToString(pub)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d := open(t, home)
	if _, err := d.apps.Install(ctx, pkg, false); err != nil {
		closeD(t, d)
		t.Fatal(err)
	}
	if _, err := d.apps.Start(ctx, "research"); err != nil {
		closeD(t, d)
		t.Fatal(err)
	}
	closeD(t, d)

	d = open(t, home)
	defer closeD(t, d)
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, err := d.apps.App("research")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := agenthost.ServiceOwner(d.kernel, "research"); ok && a.Running {
			if jobs := d.kernel.CronJobs(); len(jobs) != 1 || jobs[0].ID != a.CronIDs[0] {
				t.Fatalf("cron after the restart: %+v (record %v)", jobs, a.CronIDs)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app did not restart: %+v", a)
		}
		time.Sleep(20 * time.Millisecond) // polling: the restart runs in the background
	}
}

// TestAppRequestsBound: an app whose agent or tool asks for more than the
// manifest requests is refused before governance, and the refusal is on
// the chain.
func TestAppRequestsBound(t *testing.T) {
	home := t.TempDir()
	d := open(t, home)
	defer closeD(t, d)
	ctx := context.Background()
	for name, edit := range map[string]func(dir string) error{
		"capability": func(dir string) error {
			f := filepath.Join(dir, "agents/researcher.yaml")
			b, _ := os.ReadFile(f)
			return os.WriteFile(f, []byte(strings.Replace(string(b), "can_ipc: true", "can_ipc: true\n  can_network: true", 1)), 0o644)
		},
		"host": func(dir string) error {
			f := filepath.Join(dir, "tools/wordcount/tool.toml")
			b, _ := os.ReadFile(f)
			return os.WriteFile(f, []byte(strings.Replace(string(b), "hosts = []", `hosts = ["api.example.com"]`, 1)), 0o644)
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := exampleApp(t, nil)
			if err := edit(dir); err != nil {
				t.Fatal(err)
			}
			_, err := d.apps.Install(ctx, dir, false)
			if err == nil || !strings.Contains(err.Error(), "does not request") {
				t.Fatalf("install: %v", err)
			}
		})
	}
	refusals := 0
	for seq := range d.chain.Len() {
		ev, _ := d.chain.Get(seq)
		if ev.Kind == governance.KindRefusal && strings.Contains(string(ev.Payload), `"action":"app.install"`) {
			refusals++
		}
	}
	if refusals != 2 {
		t.Fatalf("app.install refusals on the chain: %d", refusals)
	}
}
