package daemon

import (
	"errors"
	"fmt"
	"os"

	"github.com/weftos/weftos/internal/config"
	"github.com/weftos/weftos/internal/llm"
)

// ErrNoModel means no model was named and none is configured.
var ErrNoModel = errors.New("no model: pass --model provider/model (e.g. openai/gpt-4o-mini, anthropic/claude-sonnet-4-5, or ollama/llama3.2 with a [[providers]] entry) or set agents.model in weftos.toml")

// openProviders builds the LLM provider registry from weftos.toml's
// [[providers]] and the standard environment variables. Having none is not
// an error at boot: the kernel runs without models; an agent run then fails
// with llm.ErrNoProvider, whose message names the variables to set.
func (d *Daemon) openProviders() error {
	cfgs := ProviderConfigs(d.cfg, os.Getenv, llm.Config{Logger: d.log.With("layer", "llm")})
	if len(cfgs) == 0 {
		return nil
	}
	r, err := llm.NewRegistryFromConfigs(cfgs...)
	if err != nil {
		return fmt.Errorf("daemon: LLM providers: %w", err)
	}
	d.models = r
	d.endpoints = map[string]endpoint{}
	for _, c := range cfgs {
		name := c.Name
		if name == "" {
			name = string(c.Kind)
		}
		d.endpoints[name] = providerEndpoint(c.Kind, c.BaseURL)
	}
	return nil
}

// ProviderConfigs are the LLM providers a daemon with configuration cfg
// and environment getenv has: weftos.toml's [[providers]], then those the
// standard environment variables configure (a name the file uses wins).
// Every config starts from base.
func ProviderConfigs(cfg config.Config, getenv func(string) string, base llm.Config) []llm.Config {
	var cfgs []llm.Config
	seen := map[string]bool{}
	for _, p := range cfg.Providers {
		c := base
		c.Name, c.Kind, c.BaseURL, c.APIKeyEnv, c.APIKeyFile = p.Name, llm.Kind(p.Kind), p.BaseURL, p.APIKeyEnv, p.APIKeyFile
		cfgs = append(cfgs, c)
		seen[c.Name] = true
	}
	for _, c := range llm.EnvConfigs(getenv, base) {
		if !seen[c.Name] {
			cfgs = append(cfgs, c)
		}
	}
	return cfgs
}

// knownHosts are the hosts the gate does not raise the security effect
// for: governance.known_hosts plus the hosts of the configured providers
// (the operator chose them).
func (d *Daemon) knownHosts() []string {
	out := append([]string(nil), d.cfg.Governance.KnownHosts...)
	for _, ep := range d.endpoints {
		if ep.host != "" {
			out = append(out, ep.host)
		}
	}
	return out
}
