//go:build !nochannels && !nollm

package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/gateway"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// benchGateway boots a daemon with the gateway on loopback (limits out of
// the way) and the model at modelURL, and returns it with a token.
func benchGateway(b *testing.B, modelURL string) (*Daemon, string, string) {
	b.Helper()
	b.Setenv("OPENAI_BASE_URL", modelURL)
	b.Setenv("OPENAI_API_KEY", "bench")
	b.Setenv("ANTHROPIC_API_KEY", "")
	home, ws := b.TempDir(), b.TempDir()
	cfg := fmt.Sprintf("[agents]\nmodel = \"openai/m\"\nidle_timeout = \"0s\"\n[gateway]\nlisten = \"127.0.0.1:0\"\nworkspace = %q\n"+
		"rate_per_minute = 1000000\nsender_rate_per_minute = 1000000\nburst = 10000\n", ws)
	if err := os.WriteFile(home+"/weftos.toml", []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	d := open(b, home)
	b.Cleanup(func() { closeD(b, d) })
	id := gateway.NewTokenID()
	tok, _, err := d.gw.tokens.Create(id, []string{"default"}, gateway.Scopes, "bench", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	return d, tok, ws
}

// BenchmarkGatewayOverhead measures what the gateway adds to an agent
// turn: a non-streamed POST /v1/chat/completions over loopback HTTP
// (token check, rate limits, parsing, the governed channel.message act
// with its decision and outcome on the chain, the answer's encoding) against
// the same turn run directly in the daemon, interleaved, on warm sessions
// with a zero-latency fake model. The figure is the difference of the
// medians.
func BenchmarkGatewayOverhead(b *testing.B) {
	srv := llmtest.NewOpenAI(llmtest.Options{Handler: func(llmtest.Request) llmtest.Turn { return llmtest.Text("ok") }})
	defer srv.Close()
	d, tok, ws := benchGateway(b, srv.URL)
	ctx := context.Background()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer hc.CloseIdleConnections()
	url := "http://" + d.gw.addr + "/v1/chat/completions"
	id := strings.Split(tok, "_")[1]
	gwSession := "oai." + id + ".bench"
	direct := func(msg string, reset bool) {
		err := d.runAgent(ctx, RunRequest{Agent: "default", Session: "bench-direct", Workspace: ws, Message: msg, Reset: reset}, func(ev RunEvent) error {
			if ev.Type == apitype.RunError {
				return fmt.Errorf("%s: %s", ev.Code, ev.Message)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	viaGateway := func() {
		req, _ := http.NewRequest("POST", url, strings.NewReader(`{"model":"weft/default","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Weft-Session", "bench")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	reset := func() {
		direct("", true)
		if err := d.runAgent(ctx, RunRequest{Agent: "default", Session: gwSession, Workspace: ws, Reset: true}, func(RunEvent) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	direct("warm up", false)
	viaGateway()
	var dt, gt []time.Duration
	b.ResetTimer()
	for i := range b.N {
		if i%20 == 0 { // keep the sessions short, as the agent-turn figure does
			b.StopTimer()
			reset()
			b.StartTimer()
		}
		start := time.Now()
		direct("hi", false)
		mid := time.Now()
		viaGateway()
		dt, gt = append(dt, mid.Sub(start)), append(gt, time.Since(mid))
	}
	b.StopTimer()
	b.ReportMetric(float64(percentile(dt, 0.5).Microseconds()), "direct-p50-µs")
	b.ReportMetric(float64(percentile(gt, 0.5).Microseconds()), "gateway-p50-µs")
	b.ReportMetric(float64((percentile(gt, 0.5) - percentile(dt, 0.5)).Microseconds()), "overhead-p50-µs")
}

// BenchmarkGatewayFirstToken measures the time from a fake provider
// flushing its first SSE chunk (the chunk carries its send time) to an
// OpenAI streaming client of the gateway reading that text.
func BenchmarkGatewayFirstToken(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		chunk := func(content string) {
			fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", content)
			fl.Flush()
		}
		chunk(strconv.FormatInt(time.Now().UnixNano(), 10) + ";")
		chunk(" and the rest")
		fmt.Fprint(w, `data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n")
		fmt.Fprint(w, `data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`+"\n\ndata: [DONE]\n\n")
	})
	srv := &http.Server{Handler: mux}
	ln, err := netListen()
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	d, tok, _ := benchGateway(b, "http://"+ln.Addr().String()+"/v1")
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	url := "http://" + d.gw.addr + "/v1/chat/completions"
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		if i%20 == 0 {
			b.StopTimer()
			if err := d.runAgent(context.Background(), RunRequest{Agent: "default", Session: "oai." + strings.Split(tok, "_")[1] + ".ft",
				Workspace: d.gw.hub.Workspace, Reset: true}, func(RunEvent) error { return nil }); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		req, _ := http.NewRequest("POST", url, strings.NewReader(`{"model":"weft/default","stream":true,"messages":[{"role":"user","content":"go"}]}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Weft-Session", "ft")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		got := false
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok || got || data == "[DONE]" {
				continue
			}
			var ch struct {
				Choices []struct{ Delta struct{ Content string } } `json:"choices"`
			}
			if json.Unmarshal([]byte(data), &ch) != nil || len(ch.Choices) == 0 {
				continue
			}
			if ts, err := strconv.ParseInt(strings.TrimSuffix(ch.Choices[0].Delta.Content, ";"), 10, 64); err == nil {
				lat, got = append(lat, time.Duration(time.Now().UnixNano()-ts)), true
			}
		}
		resp.Body.Close()
		if !got {
			b.Fatal("no first token")
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(percentile(lat, 0.5).Microseconds()), "first-token-p50-µs")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds()), "first-token-p99-µs")
}

// rss is the process's resident set size (Linux; 0 elsewhere).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// BenchmarkWebSocketSessions holds 1,000 authenticated WebSocket sessions
// open (each has had its "ready" frame) and reports the extra resident
// memory of the process — server and the 1,000 clients together, since
// both live in it, so the server's share is less.
func BenchmarkWebSocketSessions(b *testing.B) {
	if rss() == 0 {
		b.Skip("no /proc/self/statm")
	}
	const n = 1000
	srv := llmtest.NewOpenAI(llmtest.Options{Handler: func(llmtest.Request) llmtest.Turn { return llmtest.Text("ok") }})
	defer srv.Close()
	d, tok, _ := benchGateway(b, srv.URL)
	url := "ws://" + d.gw.addr + "/v1/ws"
	ctx := context.Background()
	for range b.N {
		runtime.GC()
		before := rss()
		conns := make([]*websocket.Conn, 0, n)
		for range n {
			c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := c.Read(ctx); err != nil { // the ready frame
				b.Fatal(err)
			}
			conns = append(conns, c)
		}
		runtime.GC()
		extra := rss() - before
		for _, c := range conns {
			_ = c.Close(websocket.StatusNormalClosure, "")
		}
		b.ReportMetric(float64(extra)/(1<<20), "extra-rss-MB")
		b.ReportMetric(float64(extra)/n/1024, "KB/session")
	}
}
