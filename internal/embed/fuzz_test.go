package embed_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/embed"
)

// FuzzResponseBodies feeds arbitrary 200 and error bodies to both clients:
// they must never panic, and a success must hold one vector of the right
// dimension per input.
func FuzzResponseBodies(f *testing.F) {
	f.Add(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]},{"object":"embedding","index":1,"embedding":[1,2]}],"model":"m"}`, 200)
	f.Add(`{"embeddings":[[0.1,0.2],[0.3,0.4]]}`, 200)
	f.Add(`{"data":[{"index":5,"embedding":[1,2]}]}`, 200)
	f.Add(`{"embeddings":[[1e999,0]]}`, 200)
	f.Add(`{"error":{"message":"x","code":42}}`, 400)
	f.Add(`{"error":"boom"}`, 500)
	f.Add(`not json`, 200)
	var body atomic.Value
	var status atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		w.Write([]byte(body.Load().(string)))
	}))
	defer srv.Close()
	noSleep := func(context.Context, time.Duration) error { return nil }
	cfg := embed.Config{Model: "m", Dim: 2, MaxRetries: -1, HTTPClient: srv.Client(), Sleep: noSleep}
	cfg.BaseURL = srv.URL
	o1, err := embed.NewOpenAI(cfg)
	if err != nil {
		f.Fatal(err)
	}
	o2, err := embed.NewOllama(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b string, code int) {
		if code < 200 || code > 599 {
			return
		}
		body.Store(b)
		status.Store(int64(code))
		for _, e := range []embed.Embedder{o1, o2} {
			vs, err := e.Embed(context.Background(), []string{"a", "b"})
			if err != nil {
				var ae *embed.APIError
				if !errors.Is(err, embed.ErrBadResponse) && !errors.As(err, &ae) {
					t.Fatalf("unexpected error type: %v", err)
				}
				continue
			}
			if len(vs) != 2 || len(vs[0]) != 2 || len(vs[1]) != 2 {
				t.Fatalf("bad success: %v", vs)
			}
		}
	})
}
