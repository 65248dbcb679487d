package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

const okAnswer = `{"id":"c","model":"m","choices":[{"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`

// TestPooledBodyHeldByTransport: a transport that still holds a request
// body after the call has returned (as net/http's may, writing it) keeps
// its bytes: the buffer goes back to the pool only when the body is
// closed.
func TestPooledBodyHeldByTransport(t *testing.T) {
	var held []io.ReadCloser
	c, err := NewOpenAI(Config{Name: "openai", BaseURL: "http://model.test/v1", Getenv: func(string) string { return "" },
		HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			held = append(held, r.Body) // neither read nor closed yet
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(okAnswer)), Request: r}, nil
		})}})
	if err != nil {
		t.Fatal(err)
	}
	ask := func(msg string) {
		t.Helper()
		if _, err := c.Chat(context.Background(), &Request{Model: "m", Messages: []Message{{Role: RoleUser, Content: msg}}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	ask("first message")
	first := held[0].(*requestBody)
	if n := first.eb.refs.Load(); n != 1 {
		t.Fatalf("after the call, %d references to its body, want 1 (the open request body)", n)
	}
	ask("second, longer message that would overwrite the first")
	b, err := io.ReadAll(first)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) || !strings.Contains(string(b), `"content":"first message"`) {
		t.Fatalf("the first request's body changed while its transport held it: %s", b)
	}
	for _, h := range held {
		h.Close()
		h.Close() // a second Close is harmless
	}
	if n := first.eb.refs.Load(); n != 0 {
		t.Fatalf("after Close, %d references, want 0", n)
	}
}

// TestPooledBodiesConcurrent: concurrent calls through the client the
// package makes (the direct transport, or net/http's with
// WEFTOS_LLM_TEST_TRANSPORT=net/http) each send their own request whole
// while bodies are recycled.
func TestPooledBodiesConcurrent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
			http.Error(w, fmt.Sprintf("bad body: %v", err), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		answer, _ := json.Marshal(req.Messages[len(req.Messages)-1].Content)
		fmt.Fprintf(w, `{"id":"c","model":"m","choices":[{"message":{"role":"assistant","content":%s},"finish_reason":"stop"}]}`, answer)
	}))
	defer srv.Close()
	c, err := NewOpenAI(Config{Name: "openai", BaseURL: srv.URL + "/v1", Getenv: func(string) string { return "" },
		Transport: os.Getenv("WEFTOS_LLM_TEST_TRANSPORT")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				msg := strings.Repeat(fmt.Sprintf("g%d-i%d ", g, i), 1+(g*i)%50)
				resp, err := c.Chat(context.Background(), &Request{Model: "m", Messages: []Message{{Role: RoleUser, Content: msg}}}, nil)
				if err != nil {
					errs <- err
					return
				}
				if resp.Message.Content != msg {
					errs <- fmt.Errorf("sent %q, the server read %q", msg, resp.Message.Content)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
