package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/chain/chaintest"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/lightnode"
	"github.com/weftos/weftos/internal/llm/llmtest"
	"github.com/weftos/weftos/internal/memory"
)

// chromium returns the path of a Chromium to drive ($WEFTOS_BROWSER, else
// one on the PATH), or skips — fails if WEFTOS_REQUIRE_BROWSER=1, as in CI,
// which installs Debian's chromium (.ci/install-chromium).
func chromium(t *testing.T) string {
	for _, name := range []string{os.Getenv("WEFTOS_BROWSER"), "chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (looked for $WEFTOS_BROWSER, chromium, chromium-browser, google-chrome, headless-shell): .ci/install-chromium installs Debian's"
	if os.Getenv("WEFTOS_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestBrowserLightNode builds examples/browser for js/wasm, serves its page,
// and drives it in headless Chromium: it verifies a chain a daemon
// exported (and rejects the same export tampered), searches a memory
// snapshot, and chats with the daemon's agent over the gateway WebSocket.
func TestBrowserLightNode(t *testing.T) {
	browser := chromium(t)
	bin := buildWeave(t)
	site := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(site, "light.wasm"), "../../examples/browser")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the light node: %v\n%s", err, out)
	}
	browserCopy(t, filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"), filepath.Join(site, "wasm_exec.js"))
	browserCopy(t, "../../examples/browser/index.html", filepath.Join(site, "index.html"))
	page := httptest.NewServer(http.FileServer(http.Dir(site)))
	defer page.Close()

	srv := llmtest.NewOpenAI(llmtest.Options{Handler: func(llmtest.Request) llmtest.Turn { return llmtest.Text("hello from weft") }})
	defer srv.Close()
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "test")
	t.Setenv("ANTHROPIC_API_KEY", "")
	c := &cli{t: t, bin: bin, home: filepath.Join(t.TempDir(), "home")}
	if err := os.MkdirAll(c.home, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("[agents]\nmodel = \"openai/m\"\n[gateway]\nlisten = \"127.0.0.1:0\"\nworkspace = %q\nallowed_origins = [%q]\n",
		t.TempDir(), page.URL)
	if err := os.WriteFile(filepath.Join(c.home, "weftos.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("boot", "--detach")
	t.Cleanup(func() { c.run("shutdown") })
	token := strings.TrimSpace(c.ok("gateway", "token", "create", "--agent", "default", "--scope", "ws"))
	var st apitype.ChannelsResponse
	c.jsonOut(&st, "channels", "status")

	// The events just written are covered by a checkpoint within
	// chain.checkpoint_interval; export once one is there.
	for deadline := time.Now().Add(30 * time.Second); ; {
		var cs struct{ Checkpoints int }
		c.jsonOut(&cs, "chain", "status")
		if cs.Checkpoints > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint after 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	export := []byte(c.ok("chain", "export"))
	browserWrite(t, filepath.Join(site, "chain.jsonl"), export)
	// The same export with one event's source changed.
	tampered := bytes.Replace(export, []byte(`"source":"kernel"`), []byte(`"source":"kerneL"`), 1)
	if bytes.Equal(tampered, export) {
		t.Fatal("the export has no kernel event to tamper with")
	}
	browserWrite(t, filepath.Join(site, "tampered.jsonl"), tampered)
	browserWrite(t, filepath.Join(site, "big.jsonl"), chaintest.Export(t, "node-b", "browser", 20_000))
	var snap bytes.Buffer
	for i, text := range []string{
		"The chain is verified with Ed25519 and ML-DSA-65 signatures.",
		"Bananas are yellow and grow in bunches.",
		"Agents are kernel processes with capabilities.",
	} {
		b, _ := json.Marshal(memory.Record{ID: memory.ContentID(text), Text: text, Meta: memory.Meta{Source: "notes", Time: time.Unix(int64(i), 0).UTC()}, ChainSeq: uint64(i + 1)})
		snap.Write(append(b, '\n'))
	}
	browserWrite(t, filepath.Join(site, "memory.jsonl"), snap.Bytes())

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	ctx, cancel := context.WithTimeout(bctx, 2*time.Minute)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(page.URL+"/index.html")); err != nil {
		t.Fatalf("load the page: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.weftReady === true`, chromedp.WithPollingTimeout(90*time.Second))); err != nil {
		t.Fatalf("start the light node: %v", err)
	}

	verify := func(file string) lightnode.VerifyResult {
		t.Helper()
		s := evalJS[string](ctx, t, fmt.Sprintf("weft.verifyChain(%q)", file))
		var r lightnode.VerifyResult
		if err := json.Unmarshal([]byte(s), &r); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		return r
	}
	var native chain.Report
	c.jsonOut(&native, "chain", "verify")
	if r := verify("chain.jsonl"); !r.OK || r.Events == 0 || r.Checkpoints == 0 || r.Events < native.Events {
		t.Fatalf("the node's export in the browser: %+v (native verify: %d events)", r, native.Events)
	}
	if r := verify("tampered.jsonl"); r.OK || r.Problem == "" {
		t.Fatalf("tampered export verified in the browser: %+v", r)
	}
	big := verify("big.jsonl")
	if !big.OK || big.Events != 20_000 {
		t.Fatalf("20,000-event export: %+v", big)
	}
	t.Logf("browser chain verify: %d events in %.3f s = %.0f events/s", big.Events, big.Seconds, big.EventsPerS)

	n := evalJS[int](ctx, t, `weft.loadSnapshot("memory.jsonl")`)
	if n != 3 {
		t.Fatalf("snapshot: %d records", n)
	}
	hits := evalJS[string](ctx, t, `weft.search("yellow bananas", 1)`)
	if !strings.Contains(hits, "Bananas are yellow") || strings.Contains(hits, "Ed25519") {
		t.Fatalf("search hits: %s", hits)
	}

	ready2 := evalJS[string](ctx, t, fmt.Sprintf(`weft.connect(%q, %q, "default")`, "http://"+st.Gateway.Addr, token))
	if !strings.Contains(ready2, `"agent":"default"`) {
		t.Fatalf("connect: %s", ready2)
	}
	answer := evalJS[string](ctx, t, `(async () => { let deltas = ""; const a = await weft.send("hi from the browser", (f) => { const e = JSON.parse(f); if (e.type === "delta") deltas += e.text; }); return a + "|" + deltas; })()`)
	if answer != "hello from weft|hello from weft" {
		t.Fatalf("chat answer|deltas = %q", answer)
	}
	// A wrong token is refused before the upgrade.
	refused := evalJS[string](ctx, t, fmt.Sprintf(`weft.connect(%q, "wgw_wrong", "default").then(() => "connected", (e) => "refused: " + e.message)`, "http://"+st.Gateway.Addr))
	if !strings.HasPrefix(refused, "refused") {
		t.Fatalf("wrong token: %s", refused)
	}
	// The exchange is on the chain like any other channel message.
	if tail := c.ok("chain", "tail", "-n", "50"); !strings.Contains(tail, "channel.message") {
		t.Fatalf("no channel.message on the chain:\n%s", tail)
	}
}

// evalJS evaluates expr in the page, awaiting a promise, and decodes its
// value.
func evalJS[T any](ctx context.Context, t *testing.T, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func browserCopy(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	browserWrite(t, to, b)
}

func browserWrite(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
