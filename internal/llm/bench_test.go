package llm_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// BenchmarkStreamDeltaLatency measures, over real loopback HTTP, the time
// from the server flushing one SSE chunk to the client's onDelta being
// called with its text. One op = one chunk. The figure is an upper bound
// on the client-side part (it includes the server's write and the
// kernel's loopback delivery). Reported: mean (ns/op), p50-ns, p99-ns.
func BenchmarkStreamDeltaLatency(b *testing.B) {
	for _, kind := range kinds {
		b.Run(string(kind), func(b *testing.B) {
			var sentAt atomic.Int64
			next := make(chan struct{}, 1)
			chunk := []byte("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" tok\"},\"finish_reason\":null}]}\n\n")
			head := []byte("data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n")
			tail := []byte("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
			path := "/v1/chat/completions"
			if kind == llm.KindAnthropic {
				chunk = []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" tok\"}}\n\n")
				head = []byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"m\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n" +
					"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
				tail = []byte("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
				path = "/v1/messages"
			}
			n := b.N
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != path {
					http.NotFound(w, r)
					return
				}
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "text/event-stream")
				fl := w.(http.Flusher)
				_, _ = w.Write(head)
				fl.Flush()
				for i := 0; i < n; i++ {
					select {
					case <-next:
					case <-r.Context().Done():
						return
					}
					sentAt.Store(time.Now().UnixNano())
					_, _ = w.Write(chunk)
					fl.Flush()
				}
				_, _ = w.Write(tail)
			}))
			defer srv.Close()
			base := srv.URL
			if kind == llm.KindOpenAI {
				base += "/v1"
			}
			p, err := llm.New(llm.Config{Kind: kind, BaseURL: base, HTTPClient: srv.Client(), MaxRetries: -1})
			if err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, n)
			next <- struct{}{}
			b.ResetTimer()
			_, err = p.Chat(context.Background(), userReq("m", "hi"), func(d llm.Delta) {
				lat = append(lat, time.Duration(time.Now().UnixNano()-sentAt.Load()))
				next <- struct{}{}
			})
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if len(lat) != n {
				b.Fatalf("%d deltas for %d chunks", len(lat), n)
			}
			reportLatency(b, lat)
			srv.Client().CloseIdleConnections()
		})
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	b.ReportMetric(float64(sum.Nanoseconds())/float64(len(lat)), "ns/op")
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// cannedServer answers every request with body (a fixed, pre-encoded
// vendor response), so a benchmark measures the client, not the server.
func cannedServer(contentType string, body []byte) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}))
}

var canned = map[string]struct {
	kind   llm.Kind
	stream bool
	ctype  string
	body   string
}{
	"openai/sync": {llm.KindOpenAI, false, "application/json",
		`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, how can I help?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}}`},
	"openai/stream": {llm.KindOpenAI, true, "text/event-stream",
		"data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n" +
			"data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}]}\n\n" +
			"data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\"}}]}\n\n" +
			"data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
			"data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\n" +
			"data: [DONE]\n\n"},
	"anthropic/sync": {llm.KindAnthropic, false, "application/json",
		`{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"Hello there, how can I help?"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":7}}`},
	"anthropic/stream": {llm.KindAnthropic, true, "text/event-stream",
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n" +
			"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n" +
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" there\"}}\n\n" +
			"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
			"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n" +
			"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"},
}

// BenchmarkChatOverhead: one whole Chat call (encode, HTTP round trip over
// loopback, decode) against a zero-latency server returning a canned
// answer. Compare with BenchmarkHTTPBaseline, the same exchange with bare
// net/http: the difference is this package's per-request overhead.
func BenchmarkChatOverhead(b *testing.B) {
	req := goldenRequest()
	for _, name := range []string{"openai/sync", "openai/stream", "anthropic/sync", "anthropic/stream"} {
		c := canned[name]
		// The package's own client, with each transport (Config.Transport).
		for _, tr := range []string{llm.TransportAuto, llm.TransportNetHTTP} {
			b.Run(name+"/"+strings.ReplaceAll(tr, "/", "-"), func(b *testing.B) {
				srv := cannedServer(c.ctype, []byte(c.body))
				defer srv.Close()
				base := srv.URL
				if c.kind == llm.KindOpenAI {
					base += "/v1"
				}
				p, err := llm.New(llm.Config{Kind: c.kind, BaseURL: base, Transport: tr, APIKeyEnv: "K",
					Getenv: func(string) string { return testKey }})
				if err != nil {
					b.Fatal(err)
				}
				defer p.(interface{ CloseIdleConnections() }).CloseIdleConnections()
				var cb func(llm.Delta)
				if c.stream {
					cb = func(llm.Delta) {}
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					resp, err := p.Chat(context.Background(), req, cb)
					if err != nil || resp.Message.Content == "" {
						b.Fatal(resp, err)
					}
				}
				b.StopTimer()
			})
		}
	}
}

// BenchmarkHTTPBaseline posts a same-sized body and reads the canned
// answer with bare net/http: the floor BenchmarkChatOverhead is compared to.
func BenchmarkHTTPBaseline(b *testing.B) {
	c := canned["openai/sync"]
	srv := cannedServer(c.ctype, []byte(c.body))
	defer srv.Close()
	body := bytes.Repeat([]byte("x"), 2000)
	hc := srv.Client()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := hc.Post(srv.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.StopTimer()
	hc.CloseIdleConnections()
}

// BenchmarkConcurrentChats: N concurrent streamed chats against a fake
// server with a fixed 100 ms latency. One op = one wave of N chats; the
// req/s metric should grow linearly with N while the client's CPU cost
// stays well below the latency.
func BenchmarkConcurrentChats(b *testing.B) {
	const latency = 100 * time.Millisecond
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			srv := llmtest.NewOpenAI(llmtest.Options{Latency: latency,
				Handler: func(llmtest.Request) llmtest.Turn { return llmtest.Text("hello from the fake model") }})
			defer srv.Close()
			p, err := llm.NewOpenAI(llm.Config{BaseURL: srv.URL, HTTPClient: srv.Client(), MaxRetries: -1})
			if err != nil {
				b.Fatal(err)
			}
			req := userReq("m", "hi")
			start := time.Now()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var wg sync.WaitGroup
				errs := make(chan error, n)
				for j := 0; j < n; j++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := p.Chat(context.Background(), req, func(llm.Delta) {}); err != nil {
							errs <- err
						}
					}()
				}
				wg.Wait()
				close(errs)
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}
