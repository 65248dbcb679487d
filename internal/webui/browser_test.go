package webui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/daemon"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm/llmtest"
	"github.com/weftos/weftos/internal/webui"
)

// findBrowser returns a Chromium to drive. Without one the test skips —
// unless CI or WEFTOS_REQUIRE_BROWSER=1 says a browser must be there
// (.ci/run installs Debian's chromium), then it fails.
func findBrowser(t testing.TB) string {
	t.Helper()
	cands := []string{os.Getenv("WEFTOS_BROWSER"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"}
	for _, c := range cands {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	msg := "no Chromium found (looked for $WEFTOS_BROWSER, chromium, chromium-browser, google-chrome, headless-shell): install Debian's chromium to run the browser tests"
	if os.Getenv("CI") != "" || os.Getenv("WEFTOS_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

const guardedRule = `[[rule]]
id = "guarded-spawns"
description = "spawning a guarded process needs a human"
branch = "executive"
severity = "critical"
outcome = "defer"
[rule.when]
actions = ["agent.spawn"]
context = { name = ["guarded-*"] }
`

type fixture struct {
	t      testing.TB
	d      *daemon.Daemon
	c      *client.Client
	home   string
	ws     string
	llm    *llmtest.Server
	ctx    context.Context // the browser tab
	origin string
}

// waitText waits until the element sel's text contains want.
func (f *fixture) waitText(sel, want string) string {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 20*time.Second)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Poll[string](fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e && e.innerText.includes(%q) ? e.innerText : ""; })()`, sel, want),
		chromedp.WithPollingInterval(20*time.Millisecond)))
	if err != nil {
		text, _ := chromedp.Run(f.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		f.t.Fatalf("waiting for %q in %s: %v\npage:\n%s", want, sel, err, text)
	}
	return got
}

func (f *fixture) do(steps ...chromedp.Action[chromedp.Void]) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		f.t.Fatal(err)
	}
}

// eval evaluates a script (awaiting a promise) and returns its string value.
func (f *fixture) eval(script string) string {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
	if err != nil {
		f.t.Fatalf("%s: %v", script, err)
	}
	return v
}

// click clicks the first element sel matches.
func (f *fixture) click(sel string) {
	f.t.Helper()
	f.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	if got := f.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return "none"; e.click(); return "ok"; })()`, sel)); got != "ok" {
		f.t.Fatalf("click %s: %s", sel, got)
	}
}

// page opens #/id and waits until it has rendered.
func (f *fixture) page(id string) {
	f.t.Helper()
	f.do(chromedp.Navigate(f.origin+"/#/"+id), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`main[data-page=%q]`, strings.SplitN(id, "?", 2)[0]))))
}

// accessible checks what a keyboard and a screen reader need: every form
// control has a label, every button a name, every table header cells, and
// the text contrast of body and muted text is at least 4.5:1 (WCAG AA).
func (f *fixture) accessible(page string) {
	f.t.Helper()
	got := f.eval(`(() => {
		const bad = [];
		for (const el of document.querySelectorAll('input, select, textarea')) {
			if (el.type === 'hidden') continue;
			if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label')) bad.push('unlabelled ' + el.tagName + '#' + el.id);
		}
		for (const b of document.querySelectorAll('button, a')) {
			if (!b.textContent.trim() && !b.getAttribute('aria-label')) bad.push('nameless ' + b.tagName);
		}
		for (const t of document.querySelectorAll('table')) if (!t.querySelector('th')) bad.push('table without headers');
		const lum = (c) => {
			const v = c.match(/[\d.]+/g).slice(0, 3).map(Number).map((x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
			return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
		};
		const bg = lum(getComputedStyle(document.body).backgroundColor);
		for (const sel of ['body', '.muted', 'nav a', 'button']) {
			const el = document.querySelector(sel);
			if (!el) continue;
			const fg = lum(getComputedStyle(el).color), r = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
			if (r < 4.5) bad.push(sel + ' contrast ' + r.toFixed(2));
		}
		return bad.length ? bad.join('; ') : 'ok';
	})()`)
	if got != "ok" {
		f.t.Fatalf("page %s: %s", page, got)
	}
}

func (f *fixture) screenshot(name string) {
	dir := os.Getenv("WEFTOS_UI_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(f.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// newFixture boots a daemon with the UI on in a temp home (a scripted
// LLM server as its provider, a workspace) and a headless Chromium.
func newFixture(t testing.TB) *fixture {
	browser := findBrowser(t)
	llm := llmtest.NewOpenAI(llmtest.Options{Handler: func(llmtest.Request) llmtest.Turn { return llmtest.Text("ok") }})
	t.Cleanup(llm.Close)
	t.Setenv("OPENAI_BASE_URL", llm.URL)
	t.Setenv("OPENAI_API_KEY", "k")
	t.Setenv("ANTHROPIC_API_KEY", "")
	home := filepath.Join(t.TempDir(), "home")
	ws := filepath.Join(t.TempDir(), "ws")
	for _, dir := range []string{home, ws} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf("[ui]\nlisten = \"127.0.0.1:0\"\n[agents]\nworkspace = %q\n", ws)
	if err := os.WriteFile(filepath.Join(home, "weftos.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Open(context.Background(), daemon.Options{Home: home, Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.Close(ctx)
	})
	c, err := client.New(home)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	bg := context.Background()
	if _, err := c.Spawn(bg, apitype.SpawnRequest{Name: "inbox-1", Kind: "mailbox"}); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(1200, 800),
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, acancel := chromedp.NewExecAllocator(bg, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	// The first run starts the browser, and must not carry a timeout.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", browser, err)
	}
	return &fixture{t: t, d: d, c: c, home: home, ws: ws, llm: llm, ctx: bctx, origin: "http://" + d.UIAddr()}
}

func TestBrowser(t *testing.T) {
	f := newFixture(t)
	d, c, ws, llm, home := f.d, f.c, f.ws, f.llm, f.home
	bg := context.Background()
	t.Run("no session shows how to log in", func(t *testing.T) {
		f.t = t
		f.do(chromedp.Navigate(f.origin + "/"))
		f.waitText("main", "weave ui")
	})

	t.Run("login", func(t *testing.T) {
		f.t = t
		res, err := c.UILogin(bg)
		if err != nil {
			t.Fatal(err)
		}
		f.do(chromedp.Navigate(res.URL), chromedp.WaitVisible(chromedp.CSS(`main[data-page="overview"]`)))
		loc, err := chromedp.Run(f.ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(loc, "token") || loc != f.origin+"/" && loc != f.origin+"/#/" {
			t.Fatalf("after login the address is %q: the token must leave it", loc)
		}
		res2, err := chromedp.Run(f.ctx, func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
			return cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{})
		})
		if err != nil {
			t.Fatal(err)
		}
		cookies := res2.Cookies
		jsCookies := f.eval(`document.cookie`)
		if len(cookies) != 1 || !cookies[0].HTTPOnly || cookies[0].SameSite != network.CookieSameSiteStrict {
			t.Fatalf("cookies %+v: want one HttpOnly SameSite=Strict session cookie", cookies)
		}
		if jsCookies != "" {
			t.Fatalf("script can read the session cookie: %q", jsCookies)
		}
		// The link was for one use: a second browser context cannot use it.
		resp, err := http.Get(res.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("reused login link answered %d", resp.StatusCode)
		}
	})

	t.Run("every page renders real data", func(t *testing.T) {
		f.t = t
		st, err := c.Status(bg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CronAdd(bg, apitype.CronRequest{Name: "hourly-ping", Schedule: "@every 1h", Target: kernel.ToTopic("pings"), Payload: kernel.Text("ping")}); err != nil {
			t.Fatal(err)
		}
		notes := filepath.Join(t.TempDir(), "notes.md")
		if err := os.WriteFile(notes, []byte("The aurora borealis glows over the fjord every winter night.\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := c.MemoryIngest(bg, apitype.MemoryIngestRequest{Paths: []string{notes}}, nil); err != nil {
			t.Fatal(err)
		}
		for _, p := range []struct{ id, sel, want string }{
			{"overview", "#status-cards", "healthy"},
			{"overview", "main", st.NodeID},
			{"processes", "main", "inbox-1"},
			{"chain", "#chain-count", "events"},
			{"governance", "main", "Constitution"},
			{"chat", "main", "Message"},
			{"sessions", "main", "Sessions"},
			{"memory", "main", "Query"},
			{"tools", "main", "read_file"},
			{"cron", "main", "hourly-ping"},
			{"channels", "main", "Pairing"},
			{"mesh", "#mesh-state", "in no cluster"},
			{"config", "#config", "127.0.0.1:0"},
			{"logs", "#log", "serving the control UI"},
		} {
			f.page(p.id)
			f.waitText(p.sel, p.want)
			if p.id == "memory" {
				f.eval(`(() => { document.getElementById('mem-q').value = 'aurora over the fjord'; return 'ok'; })()`)
				f.click(`#mem-q ~ button[type=submit]`)
				f.waitText("#mem-hits", "aurora borealis")
			}
			if p.id == "overview" {
				// The rates need two samples of /metrics.
				f.waitText("#sparks", "Chain events")
				f.do(chromedp.WaitReady(chromedp.CSS(`#sparks svg polyline[points*=" "]`)))
			}
			f.accessible(p.id)
			f.screenshot(p.id)
		}
	})

	t.Run("phone width", func(t *testing.T) {
		f.t = t
		f.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		defer f.do(chromedp.EmulateViewport(1200, 800))
		for _, id := range []string{"overview", "chain", "governance"} {
			f.page(id)
			if got := f.eval(`(() => {
				const menu = document.getElementById('menu'), nav = document.getElementById('nav');
				if (getComputedStyle(menu).display === 'none') return 'no menu button';
				if (getComputedStyle(nav).display !== 'none') return 'nav not collapsed';
				if (document.documentElement.scrollWidth > innerWidth + 1) return 'page wider than the screen: ' + document.documentElement.scrollWidth;
				menu.click();
				return getComputedStyle(nav).display === 'none' ? 'menu does not open the nav' : 'ok';
			})()`); got != "ok" {
				t.Fatalf("%s at phone width: %s", id, got)
			}
			f.screenshot(id + "-phone")
		}
	})

	t.Run("approve a deferred act from the page", func(t *testing.T) {
		f.t = t
		// The rule that defers the spawn is amended from the page.
		f.page("governance")
		js, _ := json.Marshal(guardedRule)
		f.eval(`(() => { document.getElementById('amend-text').value = ` + string(js) + `; return 'ok'; })()`)
		f.click(`#amend-text ~ button[type=submit]`)
		f.waitText("#amend-result", "decided and recorded")
		if rules, err := c.GovRules(bg); err != nil || !strings.Contains(fmt.Sprint(rules.Rules), "guarded-spawns") {
			t.Fatalf("rules after the amendment: %v %v", rules.Rules, err)
		}
		type result struct {
			pid kernel.PID
			err error
		}
		done := make(chan result, 1)
		go func() {
			r, err := c.Spawn(bg, apitype.SpawnRequest{Name: "guarded-1", Kind: "mailbox"})
			done <- result{r, err}
		}()
		f.page("governance")
		f.waitText("#pending", "guarded")
		f.screenshot("governance")
		select {
		case r := <-done:
			t.Fatalf("the deferred spawn finished before approval: %+v", r)
		default:
		}
		f.click(`#pending button[data-approve]`)
		r := <-done
		if r.err != nil || r.pid == 0 {
			t.Fatalf("approved spawn: %+v", r)
		}
		f.waitText("main", "approved")
		// The chain records the resolution, by the UI's operator.
		res, err := c.ChainEvents(bg, apitype.ChainEventsQuery{N: 1, Kind: "governance.resolution"})
		if err != nil || len(res) != 1 || !strings.Contains(string(res[0].Payload), webui.Resolver) {
			t.Fatalf("resolution on the chain: %v %v", res, err)
		}
		f.page("processes")
		f.waitText("main", "guarded-1")
	})

	t.Run("chat turn with a tool call and its chain record", func(t *testing.T) {
		f.t = t
		if err := os.WriteFile(filepath.Join(ws, "hello.txt"), []byte("hi from the workspace\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		llm.Push(llmtest.Calls(llmtest.ToolCall{ID: "call_1", Name: "read_file", Arguments: `{"path":"hello.txt"}`}),
			llmtest.Text("The file says hi."))
		f.page("chat")
		f.eval(`(() => { document.querySelector('#chat-input').value = 'what is in hello.txt?'; return 'ok'; })()`)
		f.click(`form button[type=submit]`)
		f.waitText(`[data-role="answer"]`, "The file says hi.")
		f.waitText(`#chat-log .tool`, "read_file")
		f.waitText(`#chat-log .tool`, "decision #")
		seq := f.eval(`document.querySelector('#chat-log a[data-decision]').dataset.decision`)
		f.screenshot("chat")
		// The turn is in the session's journal, on the sessions page.
		f.page("sessions")
		f.click(`main table button`)
		f.waitText("#session-detail", "what is in hello.txt?")
		f.screenshot("sessions")
		f.page("chain?seq=" + seq)
		f.waitText("#event-detail", "read_file")
	})

	t.Run("inclusion proof checked in the browser", func(t *testing.T) {
		f.t = t
		f.page("chain?seq=2")
		f.click(`#check-proof`)
		f.waitText("#proof-result", "Included")
		f.waitText("#proof-result", "Ed25519 signature (WebCrypto)")
		f.screenshot("chain")
	})

	t.Run("the browser verifier agrees with the golden vectors", func(t *testing.T) {
		f.t = t
		golden, err := os.ReadFile(filepath.Join("..", "..", "chain", "testdata", "golden", "export.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(golden)), "\n")
		run := func(lines []string) string {
			js, _ := json.Marshal(lines)
			return f.eval(`(async () => {
				const m = await import('/verify.js');
				const v = new m.Verifier();
				for (const l of ` + string(js) + `) {
					const p = await v.line(m.parseJSON(l));
					if (p) return 'seq ' + p.seq + ': ' + p.kind;
				}
				return 'ok ' + v.next + ' events ' + v.checkpoints + ' checkpoints';
			})()`)
		}
		f.page("overview")
		if got := run(lines); !strings.HasPrefix(got, "ok ") || strings.HasPrefix(got, "ok 0 ") || strings.HasSuffix(got, " 0 checkpoints") {
			t.Fatalf("golden export: %s", got)
		}
		// One edited field of event 1 is caught and named.
		bad := append([]string(nil), lines...)
		bad[2] = strings.Replace(bad[2], `"agent-7"`, `"agent-8"`, 1)
		if got := run(bad); got != "seq 1: edited-payload" {
			t.Fatalf("edited golden export: %s", got)
		}
	})

	t.Run("the attacks fail", func(t *testing.T) {
		f.t = t
		// A page on another origin (another port of this machine) tries to
		// read the API with the operator's cookie, to open a WebSocket on
		// it, and to stop a process with a cross-site POST.
		victim, err := c.Spawn(bg, apitype.SpawnRequest{Name: "victim", Kind: "mailbox"})
		if err != nil {
			t.Fatal(err)
		}
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<!doctype html><p id="x">evil</p>`)
		}))
		defer evil.Close()
		evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
		script := fmt.Sprintf(`(async () => {
			const ui = %q, out = {};
			try { const r = await fetch(ui + '/api/v1/status', {credentials: 'include'}); out.read = 'status ' + r.status; } catch (e) { out.read = 'blocked'; }
			try { await fetch(ui + '/api/v1/processes/%d/stop', {method: 'POST', mode: 'no-cors', credentials: 'include'}); out.post = 'sent'; } catch (e) { out.post = 'blocked'; }
			out.ws = await new Promise((res) => {
				const ws = new WebSocket(ui.replace('http', 'ws') + '/api/v1/chain/events?follow=1');
				ws.onopen = () => res('open'); ws.onerror = () => res('refused');
			});
			return JSON.stringify(out);
		})()`, f.origin, victim)
		f.do(chromedp.Navigate(evilURL))
		out := f.eval(script)
		var got map[string]string
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if got["read"] != "blocked" || got["ws"] != "refused" {
			t.Fatalf("cross-origin page: %v", got)
		}
		in, err := c.Inspect(bg, victim)
		if err != nil || in.State != kernel.StateRunning {
			t.Fatalf("the cross-site POST reached the process: %+v %v", in, err)
		}
		// DNS rebinding: the right address under a foreign name.
		req, _ := http.NewRequest("GET", f.origin+"/api/v1/status", nil)
		req.Host = "rebound.example:" + strings.Split(d.UIAddr(), ":")[1]
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Fatalf("rebound host answered %d", resp.StatusCode)
		}
		// The page's CSP refuses inline script: an injected one does not run.
		f.page("overview")
		if ran := f.eval(`(() => { const s = document.createElement('script'); s.textContent = 'window.pwned = true'; document.body.append(s); return String(!!window.pwned); })()`); ran != "false" {
			t.Fatal("an inline script ran despite the CSP")
		}
	})

	t.Run("the chain explorer scrolls a million events, fetching only pages", func(t *testing.T) {
		f.t = t
		scrollMillion(t, f)
	})

	t.Run("verify all, then a broken byte is named by seq", func(t *testing.T) {
		f.t = t
		f.page("chain")
		f.click(`#verify-all`)
		f.waitText("#verify-result", "Verified")
		// Break one byte of a known event in the segment on disk.
		evs, err := c.ChainEvents(bg, apitype.ChainEventsQuery{N: 10000})
		if err != nil {
			t.Fatal(err)
		}
		bad := -1
		for _, e := range evs {
			if strings.Contains(string(e.Payload), "victim") {
				bad = int(e.Seq)
				break
			}
		}
		if bad < 0 {
			t.Fatal("no event names the victim")
		}
		seg := filepath.Join(home, daemon.ChainDir, "00000000.seg")
		b, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(b, []byte("victim"))
		if i < 0 {
			t.Fatal("the segment does not hold the victim's name")
		}
		flip := func() {
			fh, err := os.OpenFile(seg, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			if _, err := fh.WriteAt([]byte{b[i] ^ 0x20}, int64(i)); err != nil {
				t.Fatal(err)
			}
			b[i] ^= 0x20
		}
		flip()
		// The daemon reports the damage too, and names the seq.
		if _, err := c.ChainEvent(bg, uint64(bad)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("seq %d", bad)) {
			t.Fatalf("reading the broken event: %v", err)
		}
		// A page of events across it is an error, not a short page.
		if evs, err := c.ChainEvents(bg, apitype.ChainEventsQuery{N: 100, From: 0, HasFrom: true}); err == nil {
			t.Fatalf("a page across the broken event answered %d events and no error", len(evs))
		}
		f.page("chain")
		f.click(`#verify-all`)
		got := f.waitText("#verify-result", "FAILED")
		if !strings.Contains(got, fmt.Sprintf("seq %d:", bad)) {
			t.Fatalf("verification says %q, want it to name seq %d", got, bad)
		}
		f.screenshot("chain-broken")
		// Put the byte back so the daemon closes cleanly.
		flip()
	})
}
