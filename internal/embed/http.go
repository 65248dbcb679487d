package embed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/weftos/weftos/internal/apikey"
	"github.com/weftos/weftos/internal/clip"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultBatchSize     = 64
	DefaultMaxRetries    = 4
	DefaultMaxRetryAfter = 60 * time.Second
	DefaultTimeout       = 2 * time.Minute
	maxResponseBytes     = 256 << 20
	maxErrorBodyBytes    = 64 << 10
	baseBackoff          = 500 * time.Millisecond
	maxBackoff           = 30 * time.Second
)

// Config configures the HTTP embedders (NewOpenAI, NewOllama).
type Config struct {
	// BaseURL is the server root: for OpenAI-compatible servers the URL
	// that ends in /v1 (default https://api.openai.com/v1; Ollama:
	// http://localhost:11434/v1), for Ollama's native API the server
	// root (default http://localhost:11434).
	BaseURL string
	// Model is the embedding model (required).
	Model string
	// Dim is the dimension the model returns (required): a response of
	// another length is rejected with ErrBadResponse.
	Dim int
	// SendDimensions asks an OpenAI-compatible server to return Dim
	// dimensions (the "dimensions" request field, supported by OpenAI's
	// text-embedding-3 models).
	SendDimensions bool
	// APIKeyEnv names the environment variable holding the API key, and
	// APIKeyFile a file holding it (mode 0600 or stricter). The variable
	// wins when set. Neither is needed for local servers.
	APIKeyEnv  string
	APIKeyFile string
	// BatchSize is the number of texts per request (default 64).
	BatchSize int
	// MaxRetries is the number of retries of a failed request (default 4;
	// negative means none).
	MaxRetries int
	// MaxRetryAfter caps how long a Retry-After is honoured; a server
	// asking for longer fails the call at once (default 60 s).
	MaxRetryAfter time.Duration
	// Timeout bounds each HTTP attempt (default 2 min).
	Timeout time.Duration
	// HTTPClient defaults to a client with no overall timeout (Timeout
	// applies per attempt through the context).
	HTTPClient *http.Client
	// Logger receives retry warnings (default: discard).
	Logger *slog.Logger
	// Getenv defaults to os.Getenv.
	Getenv func(string) string
	// Sleep waits d or until ctx is done (default: a timer). Tests inject
	// a recorder so retries never really wait.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the time source used for HTTP-date Retry-After values
	// (default time.Now).
	Now func() time.Time
}

// secret is an API key; it formats as "[redacted]" so it cannot leak
// through %v.
type secret string

func (secret) String() string   { return "[redacted]" }
func (secret) GoString() string { return "[redacted]" }

// transport is the shared HTTP machinery of the clients.
type transport struct {
	provider string
	cfg      Config
	key      secret
}

func newTransport(provider, defaultBase string, cfg Config) (*transport, error) {
	if strings.TrimSpace(cfg.Model) == "" {
		return nil, fmt.Errorf("%w: %s: model is required", ErrConfig, provider)
	}
	if cfg.Dim < 1 || cfg.Dim > 1<<16 {
		return nil, fmt.Errorf("%w: %s: dimension %d outside 1..65536", ErrConfig, provider, cfg.Dim)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = defaultBase
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if !strings.HasPrefix(cfg.BaseURL, "http://") && !strings.HasPrefix(cfg.BaseURL, "https://") {
		return nil, fmt.Errorf("%w: %s: base URL must start with http:// or https://", ErrConfig, provider)
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultMaxRetries
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	key, err := loadKey(cfg.Getenv, cfg.APIKeyEnv, cfg.APIKeyFile)
	if err != nil {
		return nil, err
	}
	return &transport{provider: provider, cfg: cfg, key: key}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func loadKey(getenv func(string) string, env, file string) (secret, error) {
	k, err := apikey.Load(getenv, env, file)
	return secret(k), err
}

// redact removes the API key from s.
func (t *transport) redact(s string) string {
	if t.key == "" {
		return s
	}
	return strings.ReplaceAll(s, string(t.key), "[redacted]")
}

// errorDecoder extracts (code, type, message) from an error body.
type errorDecoder func(body []byte) (code, typ, msg string)

// post sends body as JSON to url and decodes a 2xx answer into out,
// retrying retryable failures.
func (t *transport) post(ctx context.Context, url string, body, out any, decodeErr errorDecoder) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("embed: %s: encode request: %w", t.provider, err)
	}
	for attempt := 0; ; attempt++ {
		err := t.attempt(ctx, url, payload, out, decodeErr)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("embed: %s: %w", t.provider, ctx.Err())
		}
		wait, retry := t.retryDelay(err, attempt)
		if !retry {
			return err
		}
		t.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "embedding request failed, retrying",
			slog.String("provider", t.provider), slog.Int("attempt", attempt+1),
			slog.Duration("wait", wait), slog.String("error", err.Error()))
		if err := t.cfg.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("embed: %s: %w", t.provider, err)
		}
	}
}

// retryDelay decides whether err is retried after attempt, and after how long.
func (t *transport) retryDelay(err error, attempt int) (time.Duration, bool) {
	if attempt >= t.cfg.MaxRetries {
		return 0, false
	}
	backoff := baseBackoff << min(attempt, 10)
	backoff = min(backoff, maxBackoff)
	var ae *APIError
	if errors.As(err, &ae) {
		if !retryableStatus(ae.Status) {
			return 0, false
		}
		if ae.RetryAfter > t.cfg.MaxRetryAfter {
			return 0, false
		}
		if ae.RetryAfter > 0 {
			return ae.RetryAfter, true
		}
		return backoff, true
	}
	if errors.Is(err, errTransport) {
		return backoff, true
	}
	return 0, false
}

// errTransport marks connection-level failures (retried).
var errTransport = errors.New("transport failure")

func (t *transport) attempt(ctx context.Context, url string, payload []byte, out any, decodeErr errorDecoder) error {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("%w: %s: %s", ErrConfig, t.provider, t.redact(err.Error()))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if t.key != "" {
		req.Header.Set("Authorization", "Bearer "+string(t.key))
	}
	resp, err := t.cfg.HTTPClient.Do(req)
	if err != nil {
		// *url.Error holds the URL, not the headers; redact anyway.
		return fmt.Errorf("embed: %s: %w: %w: %s", t.provider, ErrUnavailable, errTransport, t.redact(err.Error()))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
		ae := &APIError{Provider: t.provider, Status: resp.StatusCode,
			RetryAfter: parseRetryAfter(resp.Header, t.cfg.Now())}
		ae.Code, ae.Type, ae.Message = decodeErr(b)
		if ae.Message == "" {
			ae.Message = clip.Ellipsis(strings.TrimSpace(string(b)), 512)
		}
		ae.Message = t.redact(strings.ToValidUTF8(ae.Message, "�"))
		ae.Code = t.redact(ae.Code)
		return ae
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes))
	if err := dec.Decode(out); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("embed: %s: %w: %w: %w", t.provider, ErrUnavailable, errTransport, err)
		}
		return fmt.Errorf("embed: %s: %w: %s", t.provider, ErrBadResponse, t.redact(err.Error()))
	}
	return nil
}

// parseRetryAfter reads retry-after-ms and Retry-After (delta-seconds or
// HTTP-date, RFC 9110 §10.2.3); 0 when absent or unparsable.
func parseRetryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("retry-after-ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && ms < 1e9 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 || secs > 1e6 || math.IsNaN(secs) {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if ts, err := http.ParseTime(v); err == nil {
		if d := ts.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// checkVectors validates n vectors of dimension dim from a response.
func checkVectors(provider string, vecs [][]float64, n, dim int) ([][]float32, error) {
	if len(vecs) != n {
		return nil, fmt.Errorf("embed: %s: %w: %d embeddings for %d inputs", provider, ErrBadResponse, len(vecs), n)
	}
	out := make([][]float32, n)
	for i, v := range vecs {
		if len(v) != dim {
			return nil, fmt.Errorf("embed: %s: %w: embedding %d has %d dimensions, want %d",
				provider, ErrBadResponse, i, len(v), dim)
		}
		f := make([]float32, dim)
		for j, x := range v {
			y := float32(x)
			if math.IsNaN(x) || math.IsInf(float64(y), 0) {
				return nil, fmt.Errorf("embed: %s: %w: embedding %d has a non-finite component", provider, ErrBadResponse, i)
			}
			f[j] = y
		}
		out[i] = f
	}
	return out, nil
}

// batches calls fn on consecutive slices of texts of at most size items and
// concatenates the results.
func batches(ctx context.Context, texts []string, size int, fn func(context.Context, []string) ([][]float32, error)) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += size {
		end := min(start+size, len(texts))
		vs, err := fn(ctx, texts[start:end])
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}
