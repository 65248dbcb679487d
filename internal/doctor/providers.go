//go:build !nollm

package doctor

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/config"
	"github.com/weftos/weftos/internal/llm"
)

// ProviderTimeout bounds each provider's reachability request.
const ProviderTimeout = 5 * time.Second

// Provider is one configured LLM provider to reach.
type Provider struct {
	Name string
	// Endpoint says where its requests go, without credentials (see
	// EndpointName).
	Endpoint string
	Models   func(ctx context.Context) ([]llm.Model, error)
}

// FileProviders are the llm configs of weftos.toml's [[providers]], each
// starting from base.
func FileProviders(cfg config.Config, base llm.Config) []llm.Config {
	out := make([]llm.Config, 0, len(cfg.Providers))
	for _, p := range cfg.Providers {
		c := base
		c.Name, c.Kind, c.BaseURL, c.APIKeyEnv, c.APIKeyFile = p.Name, llm.Kind(p.Kind), p.BaseURL, p.APIKeyEnv, p.APIKeyFile
		c.Transport = p.Transport
		out = append(out, c)
	}
	return out
}

// Configured are the providers a daemon on cfg with environment getenv
// would have: the file's, then the standard environment variables'
// (a name the file uses wins).
func Configured(cfg config.Config, getenv func(string) string) []Provider {
	return FromConfigs(llm.WithEnvConfigs(FileProviders(cfg, llm.Config{}), getenv, llm.Config{}))
}

// FromConfigs builds the providers of cfgs, without retries (the check
// wants an answer, not patience). A provider that cannot be built reports
// why when pinged.
func FromConfigs(cfgs []llm.Config) []Provider {
	out := make([]Provider, 0, len(cfgs))
	for _, c := range cfgs {
		c.MaxRetries = -1
		name := c.Name
		if name == "" {
			name = string(c.Kind)
		}
		p := Provider{Name: name, Endpoint: EndpointName(c.BaseURL)}
		if prov, err := llm.New(c); err != nil {
			p.Models = func(context.Context) ([]llm.Model, error) { return nil, err }
		} else {
			p.Models = prov.Models
		}
		out = append(out, p)
	}
	return out
}

// Providers lists each provider's models — a cheap, ungated request
// that proves the endpoint answers and accepts the key — with
// ProviderTimeout each, all at once. With none configured it warns: agents
// cannot run.
func Providers(ps []Provider) Check {
	return func(ctx context.Context) []apitype.DoctorCheck {
		if len(ps) == 0 {
			return warn("providers", "export OPENAI_API_KEY=… or ANTHROPIC_API_KEY=… for the daemon, point OPENAI_BASE_URL at a local server (Ollama, vLLM, llama.cpp), or add a [[providers]] entry to weftos.toml",
				"no LLM provider configured: agents cannot run")
		}
		out := make([]apitype.DoctorCheck, len(ps))
		var wg sync.WaitGroup
		for i, p := range ps {
			wg.Go(func() { out[i] = pingProvider(ctx, p) })
		}
		wg.Wait()
		return out
	}
}

func pingProvider(ctx context.Context, p Provider) apitype.DoctorCheck {
	name := "provider " + p.Name
	where := p.Endpoint
	ctx, cancel := context.WithTimeout(ctx, ProviderTimeout)
	defer cancel()
	t0 := time.Now()
	ms, err := p.Models(ctx)
	took := time.Since(t0).Round(time.Millisecond)
	if err != nil {
		return apitype.DoctorCheck{Name: name, Status: apitype.DoctorFail,
			Message: fmt.Sprintf("%s: listing models failed after %s: %v", where, took, err),
			Fix:     "check the network, the provider's base URL and its API key (weave config show; weft models " + p.Name + ")"}
	}
	return apitype.DoctorCheck{Name: name, Status: apitype.DoctorOK, Message: fmt.Sprintf("%s answered in %s (%d models)", where, took, len(ms))}
}

// EndpointName is a base URL without credentials, query or fragment.
func EndpointName(base string) string {
	if base == "" {
		return "the vendor's API"
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "the configured base URL"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
