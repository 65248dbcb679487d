//go:build nollm

package doctor

import (
	"context"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/config"
	"github.com/weftos/weftos/internal/layers"
)

// Provider stands for an LLM provider, which a binary without the LLM
// layer (nollm) has none of.
type Provider struct{ Name, Endpoint string }

// Configured: no providers in a binary without them. (A weftos.toml that
// names some keeps the daemon from booting; the config check says why.)
func Configured(config.Config, func(string) string) []Provider { return nil }

// Providers says the binary runs no agents, so it needs no provider.
func Providers([]Provider) Check {
	return func(context.Context) []apitype.DoctorCheck {
		return ok("providers", "none needed: %v", layers.NotBuilt(layers.LLM))
	}
}
