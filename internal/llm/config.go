package llm

import (
	"fmt"
	"github.com/weftos/weftos/internal/apikey"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Kind selects the wire protocol of a provider.
type Kind string

// Provider kinds.
const (
	// KindOpenAI is the OpenAI Chat Completions protocol, spoken by OpenAI
	// and by every OpenAI-compatible service or local server.
	KindOpenAI Kind = "openai"
	// KindAnthropic is Anthropic's Messages API.
	KindAnthropic Kind = "anthropic"
)

// Default endpoints, as the vendors' SDKs use them.
const (
	DefaultOpenAIBaseURL    = "https://api.openai.com/v1"
	DefaultAnthropicBaseURL = "https://api.anthropic.com"
	// AnthropicVersion is the anthropic-version header value sent by default.
	AnthropicVersion = "2023-06-01"
)

// Defaults applied by New for zero Config fields.
const (
	DefaultTimeout       = 10 * time.Minute
	DefaultIdleTimeout   = 2 * time.Minute
	DefaultMaxRetries    = 2
	DefaultMaxRetryAfter = 60 * time.Second
	DefaultMaxTokens     = 4096
)

// Config describes one provider endpoint. The zero value of every field but
// Kind has a sensible default.
type Config struct {
	// Name is the registry name, the "provider" in "provider/model".
	// Default: the Kind.
	Name string
	Kind Kind
	// BaseURL defaults to DefaultOpenAIBaseURL or DefaultAnthropicBaseURL.
	// OpenAI-compatible base URLs include the version path (".../v1");
	// Anthropic's do not.
	BaseURL string
	// APIKeyEnv names the environment variable holding the key, and
	// APIKeyFile a file holding it (mode 0600 or stricter). The variable
	// wins when both are set and it is non-empty. With neither, or with an
	// empty variable, requests go unauthenticated (fine for local servers).
	APIKeyEnv  string
	APIKeyFile string
	// Headers are added to every request (e.g. OpenRouter's HTTP-Referer).
	// They must not carry secrets: they may be logged.
	Headers map[string]string
	// Timeout bounds each attempt, including the whole streamed body.
	// 0 means DefaultTimeout, negative means none (ctx still applies).
	Timeout time.Duration
	// IdleTimeout ends a stream that sends nothing (not even a keep-alive)
	// for this long after its first event; the attempt fails with
	// ErrUnavailable. 0 means DefaultIdleTimeout, negative means none.
	IdleTimeout time.Duration
	// MaxRetries is the number of retries after the first attempt. 0 means
	// DefaultMaxRetries, negative means none.
	MaxRetries int
	// MaxRetryAfter caps how long a Retry-After is honoured: a provider
	// asking for longer gets no retry, and the *APIError (with RetryAfter
	// set) is returned so a Failover can move on. 0 means
	// DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// MaxTokens is the output cap used when Request.MaxTokens is 0. 0 means
	// DefaultMaxTokens for Anthropic (which requires one) and "unset" for
	// OpenAI-compatible servers.
	MaxTokens int
	// MaxCompletionTokens makes the OpenAI client send max_completion_tokens
	// (required by OpenAI's reasoning models) instead of max_tokens (which
	// every compatible server understands).
	MaxCompletionTokens bool
	// NoStreamUsage omits stream_options.include_usage for OpenAI-compatible
	// servers that reject it; usage is then whatever the server reports.
	NoStreamUsage bool
	// AnthropicVersion overrides the anthropic-version header.
	AnthropicVersion string
	// HTTPClient defaults to a client with its own pooled transport.
	HTTPClient *http.Client
	// Transport chooses that default client's transport: TransportAuto
	// ("" means it) carries plain http:// requests that no proxy applies
	// to itself, in the caller's goroutine, and the rest through net/http;
	// TransportNetHTTP sends everything through net/http. Ignored when
	// HTTPClient is set.
	Transport string
	// Clock defaults to SystemClock; tests inject a fake one.
	Clock Clock
	// Logger defaults to a discarding logger. Keys are never logged.
	Logger *slog.Logger
	// Getenv defaults to os.Getenv.
	Getenv func(string) string
	// Rand returns jitter in [0,1); defaults to math/rand/v2.
	Rand func() float64
}

// MaxIdleConns is how many idle connections the default HTTP client keeps
// open to a provider: enough for that many agents calling it at once to
// reuse their connections.
const MaxIdleConns = 4096

// secret holds an API key. It formats as a redaction marker so it cannot
// leak through %v, %+v, %#v or slog.
type secret string

func (secret) String() string             { return "[REDACTED]" }
func (secret) GoString() string           { return "[REDACTED]" }
func (secret) LogValue() slog.Value       { return slog.StringValue("[REDACTED]") }
func (secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, "[REDACTED]") }

// resolved is a Config with defaults applied and the key loaded.
type resolved struct {
	Config
	key  secret
	base *url.URL
	// ownClient: HTTPClient is the client resolve made (net/http's
	// transport or the direct one, no wrappers), which never modifies a
	// request's headers.
	ownClient bool
}

// resolveKind resolves cfg for the constructor ctor of kind want (an empty
// Kind means want).
func resolveKind(cfg Config, want Kind, ctor string) (*resolved, error) {
	if cfg.Kind == "" {
		cfg.Kind = want
	}
	if cfg.Kind != want {
		return nil, fmt.Errorf("llm: provider %q: %w: %s needs kind %q, got %q", cfg.Name, ErrBadRequest, ctor, want, cfg.Kind)
	}
	return resolve(cfg)
}

func resolve(cfg Config) (*resolved, error) {
	r := &resolved{Config: cfg}
	switch r.Kind {
	case KindOpenAI, KindAnthropic:
	case "":
		return nil, fmt.Errorf("llm: provider %q: %w: kind is required (%q or %q)", cfg.Name, ErrBadRequest, KindOpenAI, KindAnthropic)
	default:
		return nil, fmt.Errorf("llm: provider %q: %w: unknown kind %q (want %q or %q)", cfg.Name, ErrBadRequest, cfg.Kind, KindOpenAI, KindAnthropic)
	}
	if r.Name == "" {
		r.Name = string(r.Kind)
	}
	if strings.ContainsAny(r.Name, "/ \t\n") {
		return nil, fmt.Errorf("llm: provider %q: %w: name must not contain '/' or spaces", r.Name, ErrBadRequest)
	}
	if r.BaseURL == "" {
		r.BaseURL = DefaultOpenAIBaseURL
		if r.Kind == KindAnthropic {
			r.BaseURL = DefaultAnthropicBaseURL
		}
	}
	u, err := url.Parse(strings.TrimRight(r.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("llm: provider %q: %w: base URL must be an absolute http(s) URL", r.Name, ErrBadRequest)
	}
	r.base = u
	switch r.Transport {
	case "", TransportAuto, TransportNetHTTP:
	default:
		return nil, fmt.Errorf("llm: provider %q: %w: transport must be %q or %q, not %q", r.Name, ErrBadRequest, TransportAuto, TransportNetHTTP, r.Transport)
	}
	if r.Timeout == 0 {
		r.Timeout = DefaultTimeout
	}
	if r.IdleTimeout == 0 {
		r.IdleTimeout = DefaultIdleTimeout
	}
	if r.MaxRetries == 0 {
		r.MaxRetries = DefaultMaxRetries
	} else if r.MaxRetries < 0 {
		r.MaxRetries = 0
	}
	if r.MaxRetryAfter <= 0 {
		r.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if r.MaxTokens <= 0 && r.Kind == KindAnthropic {
		r.MaxTokens = DefaultMaxTokens
	}
	if r.AnthropicVersion == "" {
		r.AnthropicVersion = AnthropicVersion
	}
	if r.HTTPClient == nil {
		tr, ok := http.DefaultTransport.(*http.Transport)
		if ok {
			tr = tr.Clone()
			// Many agents share one provider host: keep an idle
			// connection for each agent waiting on it, so connections are
			// reused, not churned (the default keeps 2 per host and 100
			// in all; 1,000 agents then redial on almost every call).
			// Idle connections still close after IdleConnTimeout.
			tr.MaxIdleConns = MaxIdleConns
			tr.MaxIdleConnsPerHost = MaxIdleConns
			// A request (headers, system prompt, tool schemas, history)
			// is several KiB: written in one system call, not two.
			tr.WriteBufferSize = 16 << 10
			if r.Transport == TransportNetHTTP {
				r.HTTPClient = &http.Client{Transport: tr}
			} else {
				r.HTTPClient = &http.Client{Transport: newDirectTransport(tr)}
			}
		} else {
			r.HTTPClient = &http.Client{}
		}
		r.ownClient = true
	}
	if r.Clock == nil {
		r.Clock = SystemClock
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.Getenv == nil {
		r.Getenv = os.Getenv
	}
	if r.Rand == nil {
		r.Rand = rand.Float64
	}
	key, err := loadKey(r.Getenv, r.APIKeyEnv, r.APIKeyFile)
	if err != nil {
		return nil, fmt.Errorf("llm: provider %q: %w", r.Name, err)
	}
	r.key = key
	return r, nil
}

// ErrKeyFile reports an API key file that is unreadable, empty or
// accessible by group or others.
var ErrKeyFile = apikey.ErrKeyFile

// loadKey reads the key from the environment variable env or from file.
func loadKey(getenv func(string) string, env, file string) (secret, error) {
	k, err := apikey.Load(getenv, env, file)
	return secret(k), err
}

// New returns the client for cfg.Kind: *OpenAI or *Anthropic.
func New(cfg Config) (Provider, error) {
	switch cfg.Kind {
	case KindAnthropic:
		return NewAnthropic(cfg)
	default:
		return NewOpenAI(cfg)
	}
}
