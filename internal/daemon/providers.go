//go:build !nollm

package daemon

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/weftos/weftos/internal/agenthost"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/config"
	"github.com/weftos/weftos/internal/doctor"
	"github.com/weftos/weftos/internal/llm"
)

// ErrNoModel means no model was named and none is configured.
var ErrNoModel = agenthost.ErrNoModel

// openProviders builds the LLM provider registry from weftos.toml's
// [[providers]] and the standard environment variables. Having none is not
// an error at boot: the kernel runs without models; an agent run then fails
// with llm.ErrNoProvider, whose message names the variables to set.
func (d *Daemon) openProviders() error {
	cfgs := providerConfigs(d.cfg, os.Getenv, llm.Config{Logger: d.log.With("layer", "llm")})
	if len(cfgs) == 0 {
		return nil
	}
	r, err := llm.NewRegistryFromConfigs(cfgs...)
	if err != nil {
		return fmt.Errorf("daemon: LLM providers: %w", err)
	}
	d.models = r
	d.endpoints = map[string]agenthost.Endpoint{}
	for _, c := range cfgs {
		name := c.Name
		if name == "" {
			name = string(c.Kind)
		}
		ep := agenthost.ProviderEndpoint(c.Kind, c.BaseURL)
		d.endpoints[name] = ep
		d.providers = append(d.providers, apitype.Provider{Name: name, Kind: string(c.Kind), BaseURL: publicURL(c.Kind, c.BaseURL), Local: ep.Loopback})
	}
	return nil
}

// providerConfigs are the LLM providers a daemon with configuration cfg
// and environment getenv has: weftos.toml's [[providers]], then those the
// standard environment variables configure (a name the file uses wins).
// Every config starts from base. (internal/doctor reads them the same way
// when no daemon runs.)
func providerConfigs(cfg config.Config, getenv func(string) string, base llm.Config) []llm.Config {
	return llm.WithEnvConfigs(doctor.FileProviders(cfg, base), getenv, base)
}

// knownHosts are the hosts the gate does not raise the security effect
// for: governance.known_hosts plus the hosts of the configured providers
// (the operator chose them).
func (d *Daemon) knownHosts() []string {
	out := append([]string(nil), d.cfg.Governance.KnownHosts...)
	for _, ep := range d.endpoints {
		if ep.Host != "" {
			out = append(out, ep.Host)
		}
	}
	return out
}

// defaultModel is the model of a run that names none, when agents.model is
// empty too: with exactly one provider, the model its [[providers]] entry
// names, or else the only model its server lists (a llama.cpp or vLLM
// server serves one). With several providers, or a server listing several
// models, the operator must choose: ErrNoModel, naming what is available.
func (d *Daemon) defaultModel(ctx context.Context) (string, error) {
	d.defaultMu.Lock()
	defer d.defaultMu.Unlock()
	if d.defaultName != "" {
		return d.defaultName, nil
	}
	names := d.models.Names()
	if len(names) != 1 {
		return "", fmt.Errorf("%w (configured providers: %s)", ErrNoModel, strings.Join(names, ", "))
	}
	name := names[0]
	for _, p := range d.cfg.Providers {
		if p.Name == name && p.Model != "" {
			d.defaultName = name + "/" + p.Model
			return d.defaultName, nil
		}
	}
	prov, _ := d.models.Provider(name)
	ms, err := prov.Models(ctx)
	if err != nil {
		return "", fmt.Errorf("%w (listing %s's models to pick a default failed: %w)", ErrNoModel, name, err)
	}
	if len(ms) != 1 {
		var ids []string
		for _, m := range ms {
			ids = append(ids, name+"/"+m.ID)
		}
		if len(ids) > 8 {
			ids = append(ids[:8], "…")
		}
		return "", fmt.Errorf("%w (%s serves %d models: %s)", ErrNoModel, name, len(ms), strings.Join(ids, ", "))
	}
	d.defaultName = name + "/" + ms[0].ID
	d.log.Info("default model", "model", d.defaultName, "why", "the only model of the only provider")
	return d.defaultName, nil
}

// publicURL is a provider's base URL as status may show it: the vendor's
// default when unset, without user information or query (where keys hide).
func publicURL(kind llm.Kind, raw string) string {
	if raw == "" {
		if kind == llm.KindAnthropic {
			return llm.DefaultAnthropicBaseURL
		}
		return llm.DefaultOpenAIBaseURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
