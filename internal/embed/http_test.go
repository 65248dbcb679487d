package embed_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/embed"
)

const testKey = "sk-test-SECRET-0123456789"

// fakeServer answers embeddings requests like the real APIs. Each request
// is answered by the next scripted status (200 once the script runs out).
type fakeServer struct {
	t      *testing.T
	dim    int
	mu     sync.Mutex
	script []scripted
	reqs   []map[string]any
	auth   []string
}

type scripted struct {
	status  int
	header  map[string]string
	body    string
	badDims bool
	reverse bool
}

func (f *fakeServer) next() scripted {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.script) == 0 {
		return scripted{status: 200}
	}
	s := f.script[0]
	f.script = f.script[1:]
	return s
}

// vecFor is the deterministic fake embedding of a text.
func vecFor(text string, dim int) []float64 {
	v := make([]float64, dim)
	for i := range v {
		v[i] = float64(len(text)+i) / 10
	}
	return v
}

func (f *fakeServer) record(r *http.Request) (map[string]any, []string) {
	body, _ := io.ReadAll(r.Body)
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		f.t.Errorf("bad request body %q: %v", body, err)
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	var inputs []string
	if in, ok := req["input"].([]any); ok {
		for _, x := range in {
			s, _ := x.(string)
			inputs = append(inputs, s)
		}
	}
	return req, inputs
}

func (f *fakeServer) openAI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
		http.Error(w, "not found", 404)
		return
	}
	req, inputs := f.record(r)
	s := f.next()
	for k, v := range s.header {
		w.Header().Set(k, v)
	}
	if s.status != 200 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		io.WriteString(w, s.body)
		return
	}
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float64 `json:"embedding"`
	}
	resp := struct {
		Object string         `json:"object"`
		Data   []item         `json:"data"`
		Model  any            `json:"model"`
		Usage  map[string]int `json:"usage"`
	}{Object: "list", Model: req["model"], Usage: map[string]int{"prompt_tokens": 8, "total_tokens": 8}}
	dim := f.dim
	if s.badDims {
		dim--
	}
	for i, in := range inputs {
		resp.Data = append(resp.Data, item{"embedding", i, vecFor(in, dim)})
	}
	if s.reverse {
		for i, j := 0, len(resp.Data)-1; i < j; i, j = i+1, j-1 {
			resp.Data[i], resp.Data[j] = resp.Data[j], resp.Data[i]
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func (f *fakeServer) ollama(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/embed" {
		w.WriteHeader(404)
		io.WriteString(w, `{"error":"404 page not found"}`)
		return
	}
	req, inputs := f.record(r)
	s := f.next()
	for k, v := range s.header {
		w.Header().Set(k, v)
	}
	if s.status != 200 {
		w.WriteHeader(s.status)
		io.WriteString(w, s.body)
		return
	}
	dim := f.dim
	if s.badDims {
		dim--
	}
	resp := map[string]any{"model": req["model"], "total_duration": 14143917, "load_duration": 1019500,
		"prompt_eval_count": 8}
	var embs [][]float64
	for _, in := range inputs {
		embs = append(embs, vecFor(in, dim))
	}
	resp["embeddings"] = embs
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

type kind struct {
	name    string
	handler func(*fakeServer) http.HandlerFunc
	new     func(embed.Config) (embed.Embedder, error)
	base    func(url string) string
}

var kinds = []kind{
	{"openai", func(f *fakeServer) http.HandlerFunc { return f.openAI },
		func(c embed.Config) (embed.Embedder, error) { return embed.NewOpenAI(c) },
		func(u string) string { return u + "/v1" }},
	{"ollama", func(f *fakeServer) http.HandlerFunc { return f.ollama },
		func(c embed.Config) (embed.Embedder, error) { return embed.NewOllama(c) },
		func(u string) string { return u }},
}

func setup(t *testing.T, k kind, script ...scripted) (*fakeServer, embed.Embedder, *sleepRecorder) {
	t.Helper()
	f := &fakeServer{t: t, dim: 8, script: script}
	srv := httptest.NewServer(k.handler(f))
	t.Cleanup(srv.Close)
	sl := &sleepRecorder{}
	e, err := k.new(embed.Config{BaseURL: k.base(srv.URL), Model: "nomic-embed-text", Dim: 8, BatchSize: 3,
		APIKeyEnv: "K", Getenv: func(string) string { return testKey }, Sleep: sl.sleep,
		HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return f, e, sl
}

func texts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strings.Repeat("x", i+1)
	}
	return out
}

func TestHTTPEmbedBatches(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			f, e, _ := setup(t, k, scripted{status: 200, reverse: true})
			if want := k.name + ":nomic-embed-text/8"; e.Name() != want || e.Dim() != 8 {
				t.Fatalf("name %q dim %d", e.Name(), e.Dim())
			}
			in := texts(7)
			vs, err := e.Embed(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != 7 {
				t.Fatalf("%d vectors", len(vs))
			}
			for i, v := range vs {
				if want := float32(vecFor(in[i], 8)[0]); v[0] != want {
					t.Errorf("vector %d out of order: %v want %v", i, v[0], want)
				}
			}
			if len(f.reqs) != 3 { // 3 + 3 + 1
				t.Fatalf("%d requests, want 3", len(f.reqs))
			}
			for i, r := range f.reqs {
				if r["model"] != "nomic-embed-text" {
					t.Errorf("request %d model %v", i, r["model"])
				}
				if f.auth[i] != "Bearer "+testKey {
					t.Errorf("request %d auth %q", i, f.auth[i])
				}
			}
			if k.name == "openai" && f.reqs[0]["encoding_format"] != "float" {
				t.Errorf("encoding_format %v", f.reqs[0]["encoding_format"])
			}
		})
	}
}

func TestHTTPRetries(t *testing.T) {
	rateLimited := func(hdr map[string]string) scripted {
		return scripted{status: 429, header: hdr,
			body: `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`}
	}
	unavailable := scripted{status: 503, body: `{"error":{"message":"overloaded","type":"server_error","code":null}}`}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			tests := []struct {
				name      string
				script    []scripted
				wantErr   error
				wantWaits []time.Duration
				wantReqs  int
			}{
				{"retry-after seconds", []scripted{rateLimited(map[string]string{"Retry-After": "3"})}, nil,
					[]time.Duration{3 * time.Second}, 2},
				{"retry-after-ms", []scripted{rateLimited(map[string]string{"retry-after-ms": "250"})}, nil,
					[]time.Duration{250 * time.Millisecond}, 2},
				{"backoff doubles", []scripted{unavailable, unavailable, unavailable}, nil,
					[]time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}, 4},
				{"exhausted", []scripted{unavailable, unavailable, unavailable, unavailable, unavailable},
					embed.ErrUnavailable, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second}, 5},
				{"retry-after too long", []scripted{rateLimited(map[string]string{"Retry-After": "3600"})},
					embed.ErrRateLimited, nil, 1},
				{"auth not retried", []scripted{{status: 401,
					body: `{"error":{"message":"Incorrect API key provided: ` + testKey + `","type":"invalid_request_error","code":"invalid_api_key"}}`}},
					embed.ErrAuth, nil, 1},
				{"bad request not retried", []scripted{{status: 400, body: `{"error":"model \"nope\" not found"}`}},
					embed.ErrBadRequest, nil, 1},
				{"wrong dimension", []scripted{{status: 200, badDims: true}}, embed.ErrBadResponse, nil, 1},
				{"garbage body", []scripted{{status: 502, body: "<html>bad gateway</html>"}, {status: 200}}, nil,
					[]time.Duration{500 * time.Millisecond}, 2},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					f, e, sl := setup(t, k, tc.script...)
					_, err := e.Embed(context.Background(), []string{"a", "b"})
					if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
						t.Fatalf("err = %v, want %v", err, tc.wantErr)
					}
					if err != nil && strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), testKey) {
						t.Fatalf("error leaks the key: %v", err)
					}
					if fmt.Sprint(sl.waits) != fmt.Sprint(tc.wantWaits) {
						t.Errorf("waits %v, want %v", sl.waits, tc.wantWaits)
					}
					if len(f.reqs) != tc.wantReqs {
						t.Errorf("%d requests, want %d", len(f.reqs), tc.wantReqs)
					}
				})
			}
		})
	}
}

func TestHTTPAPIErrorFields(t *testing.T) {
	_, e, _ := setup(t, kinds[0], scripted{status: 401,
		body: `{"error":{"message":"Incorrect API key provided: ` + testKey + `","type":"invalid_request_error","code":"invalid_api_key"}}`})
	_, err := e.Embed(context.Background(), []string{"a"})
	var ae *embed.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err %T %v", err, err)
	}
	if ae.Status != 401 || ae.Code != "invalid_api_key" || ae.Type != "invalid_request_error" ||
		ae.Message != "Incorrect API key provided: [redacted]" {
		t.Fatalf("%+v", ae)
	}
}

func TestHTTPConnectionFailureRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	sl := &sleepRecorder{}
	e, err := embed.NewOllama(embed.Config{BaseURL: url, Model: "m", Dim: 4, MaxRetries: 2, Sleep: sl.sleep})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Embed(context.Background(), []string{"a"})
	if !errors.Is(err, embed.ErrUnavailable) || len(sl.waits) != 2 {
		t.Fatalf("err %v waits %v", err, sl.waits)
	}
}

func TestHTTPContextCancelled(t *testing.T) {
	_, e, _ := setup(t, kinds[0])
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Embed(ctx, []string{"a"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	loose := filepath.Join(dir, "loose")
	empty := filepath.Join(dir, "empty")
	os.WriteFile(good, []byte(testKey+"\n"), 0o600)
	os.WriteFile(loose, []byte(testKey), 0o644)
	os.Chmod(loose, 0o644)
	os.WriteFile(empty, []byte("\n"), 0o600)
	tests := []struct {
		name string
		cfg  embed.Config
		want error
	}{
		{"ok key file", embed.Config{Model: "m", Dim: 4, APIKeyFile: good}, nil},
		{"no model", embed.Config{Dim: 4}, embed.ErrConfig},
		{"no dim", embed.Config{Model: "m"}, embed.ErrConfig},
		{"bad url", embed.Config{Model: "m", Dim: 4, BaseURL: "ftp://x"}, embed.ErrConfig},
		{"loose key file", embed.Config{Model: "m", Dim: 4, APIKeyFile: loose}, embed.ErrKeyFile},
		{"empty key file", embed.Config{Model: "m", Dim: 4, APIKeyFile: empty}, embed.ErrKeyFile},
		{"missing key file", embed.Config{Model: "m", Dim: 4, APIKeyFile: filepath.Join(dir, "nope")}, embed.ErrKeyFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := embed.NewOpenAI(tc.cfg)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err %v want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), testKey) {
				t.Fatalf("error leaks the key")
			}
		})
	}
}

func TestKeyFileUsed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	if err := os.WriteFile(path, []byte(testKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{t: t, dim: 4}
	srv := httptest.NewServer(http.HandlerFunc(f.openAI))
	defer srv.Close()
	e, err := embed.NewOpenAI(embed.Config{BaseURL: srv.URL + "/v1", Model: "m", Dim: 4, APIKeyFile: path,
		Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Embed(context.Background(), []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if f.auth[0] != "Bearer "+testKey {
		t.Fatalf("auth %q", f.auth[0])
	}
	if strings.Contains(fmt.Sprintf("%v %+v", e, e), testKey) {
		t.Fatal("formatting the client leaks the key")
	}
}

func TestRetryLogRedactsKeyAndHonoursHTTPDate(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f := &fakeServer{t: t, dim: 4, script: []scripted{{status: 503,
		header: map[string]string{"Retry-After": now.Add(7 * time.Second).Format(http.TimeFormat)},
		body:   `{"error":{"message":"upstream rejected key ` + testKey + `","type":"server_error"}}`}}}
	srv := httptest.NewServer(http.HandlerFunc(f.openAI))
	defer srv.Close()
	var logs strings.Builder
	sl := &sleepRecorder{}
	e, err := embed.NewOpenAI(embed.Config{BaseURL: srv.URL + "/v1", Model: "m", Dim: 4, APIKeyEnv: "K",
		Getenv: func(string) string { return testKey }, Sleep: sl.sleep, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Embed(context.Background(), []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sl.waits) != "[7s]" {
		t.Fatalf("waits %v", sl.waits)
	}
	if !strings.Contains(logs.String(), "retrying") || strings.Contains(logs.String(), testKey) {
		t.Fatalf("log: %s", logs.String())
	}
}
