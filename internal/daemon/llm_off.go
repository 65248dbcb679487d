//go:build nollm

package daemon

import (
	"context"
	"os"
	"path/filepath"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/apphost"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/doctor"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/layers"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/toolhost"
)

// llmParts: no model providers and no agents (nollm).
type llmParts struct{}

// ErrNoModel stands for agenthost.ErrNoModel, which no run here returns.
var ErrNoModel = layers.NotBuilt(layers.LLM)

// openLLM refuses a configuration that names model providers or a
// default model, and a home running an app whose services are agents:
// booting without them would silently drop what the operator asked for.
// Sessions a full build left in the home are kept untouched.
func (d *Daemon) openLLM(context.Context) error {
	if len(d.cfg.Providers) > 0 {
		return configuredWithout("[[providers]]", layers.LLM)
	}
	if d.cfg.Agents.Model != "" {
		return configuredWithout("agents.model", layers.LLM)
	}
	apps, err := apphost.New(apphost.Options{Home: d.home}).List() // reads the records only
	if err != nil {
		return err
	}
	for _, a := range apps {
		if a.Running && len(a.Services) > 0 {
			return configuredWithout("app "+a.Name+" (running, its services are agents)", layers.LLM)
		}
	}
	p := filepath.Join(d.home, "sessions")
	if _, err := os.Stat(p); err == nil {
		d.log.Warn("this binary has no LLM layer: the agents' sessions are left untouched", "sessions", p,
			"err", layers.NotBuilt(layers.LLM))
	}
	return nil
}

func (d *Daemon) closeJournals(context.Context) error { return nil }

// builtinTools: no agents, no built-in tools; the tool host reserves
// their names itself (toolhost.Options.Builtins).
func (d *Daemon) builtinTools() toolhost.Builtins { return nil }

func (d *Daemon) openAgentHost()                 {}
func (d *Daemon) openMCPSessions()               {}
func (d *Daemon) reapIdleAgents(context.Context) {}

func (d *Daemon) agentRoutes() []localapi.Route { return d.notBuiltRoutes(layers.LLM) }
func (d *Daemon) planRoutes() []localapi.Route  { return nil } // in agentRoutes' patterns
func (d *Daemon) mcpRoutes() []localapi.Route   { return nil } // in agentRoutes' patterns

func llmCode(error) string { return "" }

func (d *Daemon) modelStatus() ([]apitype.Provider, string) { return nil, "" }

// knownHosts are governance.known_hosts: no providers' hosts to add.
func (d *Daemon) knownHosts() []string {
	return append([]string(nil), d.cfg.Governance.KnownHosts...)
}

func (d *Daemon) doctorProviders() []doctor.Provider { return nil }

// What apps ask of the agent host: an app with agents cannot be
// installed or started here.

func (d *Daemon) agentCaps(agentdef.Definition) (kernel.Capabilities, error) {
	return kernel.Capabilities{}, layers.NotBuilt(layers.LLM)
}

func (d *Daemon) loadAgent(string) (agentdef.Definition, error) {
	return agentdef.Definition{}, layers.NotBuilt(layers.LLM)
}

func (d *Daemon) findAgent(string, string) (agentdef.Definition, error) {
	return agentdef.Definition{}, layers.NotBuilt(layers.LLM)
}

func (d *Daemon) startAgentDef(context.Context, apitype.AgentStartRequest, agentdef.Definition, string) (apitype.AgentStartResponse, error) {
	return apitype.AgentStartResponse{}, layers.NotBuilt(layers.LLM)
}

func (d *Daemon) stopSupervisor(context.Context, string) error { return nil }

func carryFrom(context.Context) *authority.Carry { return nil }

// approvalSink: an agent run told of acts waiting for approval; there
// are none here.
type approvalSink interface {
	Approval(ctx context.Context, id string, req governance.Request, d governance.Decision)
}

func approvalStream(context.Context) approvalSink { return nil }
