package llm

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Registry maps provider names to providers and resolves "provider/model"
// names. It is safe for concurrent use.
type Registry struct {
	mu        sync.RWMutex
	providers map[string]Provider
	order     []string
}

// NewRegistry returns a registry holding ps, in order; the first is the
// default provider for model names without a "provider/" prefix.
func NewRegistry(ps ...Provider) (*Registry, error) {
	r := &Registry{providers: map[string]Provider{}}
	for _, p := range ps {
		if err := r.Register(p); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Register adds p under p.Name(). Names are unique.
func (r *Registry) Register(p Provider) error {
	if p == nil {
		return fmt.Errorf("llm: %w: nil provider", ErrBadRequest)
	}
	name := p.Name()
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("llm: %w: provider name %q must be non-empty and contain no '/'", ErrBadRequest, name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.providers[name]; dup {
		return fmt.Errorf("llm: %w: provider %q registered twice", ErrBadRequest, name)
	}
	r.providers[name] = p
	r.order = append(r.order, name)
	return nil
}

// Provider returns the provider registered as name.
func (r *Registry) Provider(name string) (Provider, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.providers[name]
	return p, ok
}

// Names returns the registered provider names in registration order.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.order)
}

// Len returns the number of registered providers.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.order)
}

// Resolve splits name into provider and model. "anthropic/claude-sonnet-4-5"
// selects the provider registered as "anthropic" and model
// "claude-sonnet-4-5"; only the first '/' separates, so
// "openrouter/meta-llama/llama-3.1-70b" keeps the model's own slash. A name
// without '/' goes to the default (first registered) provider. A prefix
// naming no provider is ErrUnknownProvider; an empty registry is
// ErrNoProvider.
func (r *Registry) Resolve(name string) (Provider, string, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.order) == 0 {
		return nil, "", ErrNoProvider
	}
	name = strings.TrimSpace(name)
	prov, model, found := strings.Cut(name, "/")
	if !found {
		prov, model = r.order[0], name
	}
	if model == "" {
		return nil, "", fmt.Errorf("llm: %w: model name %q has no model part (want provider/model)", ErrBadRequest, name)
	}
	p, ok := r.providers[prov]
	if !ok {
		return nil, "", fmt.Errorf("llm: %w %q in model %q (configured: %s)", ErrUnknownProvider, prov, name,
			strings.Join(r.order, ", "))
	}
	return p, model, nil
}

// Failover resolves each "provider/model" name and returns a Failover
// trying them in order.
func (r *Registry) Failover(names ...string) (*Failover, error) {
	routes := make([]Route, 0, len(names))
	for _, n := range names {
		p, m, err := r.Resolve(n)
		if err != nil {
			return nil, err
		}
		routes = append(routes, Route{Provider: p, Model: m})
	}
	return NewFailover("failover", nil, routes...)
}

// Standard environment variables, read as the vendors' SDKs read them.
const (
	EnvOpenAIKey        = "OPENAI_API_KEY"
	EnvOpenAIBaseURL    = "OPENAI_BASE_URL"
	EnvAnthropicKey     = "ANTHROPIC_API_KEY"
	EnvAnthropicBaseURL = "ANTHROPIC_BASE_URL"
)

// EnvConfigs returns the provider configs the standard environment
// variables describe, each based on base (for HTTPClient, Clock, Logger,
// Timeout, …): "openai" when OPENAI_API_KEY or OPENAI_BASE_URL is set (a
// base URL alone is a keyless local server such as Ollama), then
// "anthropic" when ANTHROPIC_API_KEY or ANTHROPIC_BASE_URL is set.
func EnvConfigs(getenv func(string) string, base Config) []Config {
	var out []Config
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	if get(EnvOpenAIKey) != "" || get(EnvOpenAIBaseURL) != "" {
		c := base
		c.Name, c.Kind, c.BaseURL, c.APIKeyEnv, c.APIKeyFile = "openai", KindOpenAI, get(EnvOpenAIBaseURL), EnvOpenAIKey, ""
		c.Getenv = getenv
		out = append(out, c)
	}
	if get(EnvAnthropicKey) != "" || get(EnvAnthropicBaseURL) != "" {
		c := base
		c.Name, c.Kind, c.BaseURL, c.APIKeyEnv, c.APIKeyFile = "anthropic", KindAnthropic, get(EnvAnthropicBaseURL), EnvAnthropicKey, ""
		c.Getenv = getenv
		out = append(out, c)
	}
	return out
}

// WithEnvConfigs returns cfgs (from a configuration file) followed by
// the EnvConfigs whose names cfgs does not use: the file wins.
func WithEnvConfigs(cfgs []Config, getenv func(string) string, base Config) []Config {
	out := append([]Config(nil), cfgs...)
	seen := map[string]bool{}
	for _, c := range cfgs {
		seen[c.Name] = true
	}
	for _, c := range EnvConfigs(getenv, base) {
		if !seen[c.Name] {
			out = append(out, c)
		}
	}
	return out
}

// NewRegistryFromEnv builds a registry from EnvConfigs. With no provider
// configured it returns ErrNoProvider, whose message names the variables
// and the local-server option.
func NewRegistryFromEnv(getenv func(string) string, base Config) (*Registry, error) {
	cfgs := EnvConfigs(getenv, base)
	if len(cfgs) == 0 {
		return nil, ErrNoProvider
	}
	return NewRegistryFromConfigs(cfgs...)
}

// NewRegistryFromConfigs builds one provider per config, in order.
func NewRegistryFromConfigs(cfgs ...Config) (*Registry, error) {
	r := &Registry{providers: map[string]Provider{}}
	for _, c := range cfgs {
		p, err := New(c)
		if err != nil {
			return nil, err
		}
		if err := r.Register(p); err != nil {
			return nil, err
		}
	}
	return r, nil
}
