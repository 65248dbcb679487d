package llm_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/weftos/weftos/internal/llm"
)

// TestConnectionsReused: sequential calls to a provider share one
// connection (a JSON body left unread after the value made the client
// dial for every call).
func TestConnectionsReused(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/chat/completions":
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "c", "model": "m",
				"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": "ok"}, "finish_reason": "stop"}}})
		case "/v1/models":
			_ = json.NewEncoder(w).Encode(map[string]any{"data": []any{map[string]any{"id": "m"}}})
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c, err := llm.NewOpenAI(llm.Config{Name: "openai", BaseURL: srv.URL + "/v1", Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	ctx := context.Background()
	for range 5 {
		if _, err := c.Chat(ctx, &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Models(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("10 sequential calls opened %d connections, want 1", n)
	}
}

// TestSharedHeadersConcurrent: with the client the package makes, the
// request headers are one map shared by every request; concurrent calls
// each send them whole (under -race, a change to the shared map by
// net/http would be reported).
func TestSharedHeadersConcurrent(t *testing.T) {
	var bad atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k-123" || r.Header.Get("Content-Type") != "application/json" ||
			r.Header.Get("X-Extra") != "1" || r.Header.Get("Accept") != "application/json" {
			bad.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"c","model":"m","choices":[{"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`))
	}))
	defer srv.Close()
	c, err := llm.NewOpenAI(llm.Config{Name: "openai", BaseURL: srv.URL + "/v1", APIKeyEnv: "K", Headers: map[string]string{"X-Extra": "1"},
		Getenv: func(string) string { return "k-123" }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			var err error
			for range 5 {
				if _, err = c.Chat(context.Background(), &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}, nil); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := bad.Load(); n != 0 {
		t.Fatalf("%d of 80 requests arrived without the configured headers", n)
	}
}
