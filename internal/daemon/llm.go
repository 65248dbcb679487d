//go:build !nollm

package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/agenthost"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/doctor"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/session"
	"github.com/weftos/weftos/internal/toolhost"
	"github.com/weftos/weftos/internal/tools"
)

// llmParts is the LLM layer's part of the Daemon: the model providers and
// the agents that use them (llm_off.go: empty, with nollm).
type llmParts struct {
	models    *llm.Registry
	endpoints map[string]agenthost.Endpoint // provider name → where its prompts go
	agenthost *agenthost.Host               // the agent process kind (internal/agenthost)
	builtins  *tools.Registry               // built once: the built-in tools are stateless
	mcp       *agenthost.MCPSessions        // MCP tool sessions (weave mcp serve, the gateway's /mcp)
	journals  *session.Committer            // group-commits every session journal

	providers   []apitype.Provider // configured LLM providers, for status
	defaultMu   sync.Mutex         // guards defaultName
	defaultName string             // the resolved default model (defaultModel)
}

// openLLM opens the session journals (sessions a crash left half-written
// are restored from the commit log before anything can read them), the
// model providers and the built-in tools.
func (d *Daemon) openLLM(ctx context.Context) error {
	var err error
	if d.journals, err = session.OpenCommitter(ctx, d.home, session.WithCommitLogger(d.log.With("layer", "session"))); err != nil {
		return fmt.Errorf("daemon: session journals: %w", err)
	}
	d.builtins = tools.Default()
	return d.openProviders()
}

// closeJournals closes the session journals, after the kernel: the agents
// have closed their sessions.
func (d *Daemon) closeJournals(ctx context.Context) error {
	if d.journals == nil {
		return nil
	}
	if err := d.journals.Close(ctx); err != nil {
		return fmt.Errorf("session journals: %w", err)
	}
	return nil
}

var _ toolhost.Builtins = (*tools.Registry)(nil)

// builtinTools are the built-in tools, whose names an installed WASM tool
// may not take.
func (d *Daemon) builtinTools() toolhost.Builtins { return d.builtins }

// agentRoutes are the LLM layer's endpoints but plan's and MCP's
// (layerPatterns[layers.LLM] lists them all).
func (d *Daemon) agentRoutes() []localapi.Route {
	return []localapi.Route{
		{Pattern: "POST /v1/agent/run", Handler: d.handleAgentRun},
		{Pattern: "POST /v1/agent/start", Handler: d.handleAgentStart},
		{Pattern: "GET /v1/agent/tools", Handler: d.handleAgentTools},
		{Pattern: "GET /v1/models", Handler: d.handleModels},
		{Pattern: "GET /v1/skills", Handler: d.handleSkills},
		{Pattern: "GET /v1/sessions", Handler: d.handleSessions},
		{Pattern: "GET /v1/sessions/{name}", Handler: d.handleSession},
		{Pattern: "DELETE /v1/sessions/{name}", Handler: d.handleSessionRemove},
		{Pattern: "GET /v1/sessions/{name}/journal", Handler: d.handleSessionJournal},
		{Pattern: "POST /v1/sessions/{name}/fork", Handler: d.handleSessionFork},
	}
}

// llmCode maps the model providers' errors to API codes.
func llmCode(err error) string {
	if errors.Is(err, llm.ErrNoProvider) || errors.Is(err, ErrNoModel) || errors.Is(err, llm.ErrUnknownProvider) {
		return apitype.CodeNoProvider
	}
	return ""
}

// modelStatus is what status says of the models: the configured
// providers and the default model.
func (d *Daemon) modelStatus() ([]apitype.Provider, string) {
	if d.cfg.Agents.Model != "" {
		return d.providers, d.cfg.Agents.Model
	}
	d.defaultMu.Lock()
	defer d.defaultMu.Unlock()
	return d.providers, d.defaultName
}

// What apps ask of the agent host.

func (d *Daemon) agentCaps(def agentdef.Definition) (kernel.Capabilities, error) {
	return d.agenthost.Caps(def)
}

func (d *Daemon) loadAgent(file string) (agentdef.Definition, error) { return agentdef.Load(file) }

func (d *Daemon) findAgent(name, workspace string) (agentdef.Definition, error) {
	return d.agenthost.FindAgent(name, workspace)
}

// stopSupervisor stops the named supervisor an app's services run under
// (and every agent under it), waiting up to the stop grace period and 5 s
// more for it to exit.
func (d *Daemon) stopSupervisor(ctx context.Context, name string) error {
	return d.agenthost.StopSupervisor(ctx, name, 5*time.Second)
}

// reapIdleAgents stops session agents (and MCP tool sessions) idle for
// agents.idle_timeout, until ctx ends.
func (d *Daemon) reapIdleAgents(ctx context.Context) { d.agenthost.ReapIdleLoop(ctx, d.mcp.ReapIdle) }

// carryFrom is the carry (the act an agent's turn runs under) ctx holds.
func carryFrom(ctx context.Context) *authority.Carry { return agenthost.CarryFrom(ctx) }

// approvalStream is the agent run ctx serves, which is told of an act
// waiting for approval; nil outside a run.
func approvalStream(ctx context.Context) *agenthost.Stream { return agenthost.StreamFrom(ctx) }

// doctorProviders are the daemon's providers, each listing its models.
func (d *Daemon) doctorProviders() []doctor.Provider {
	if d.models == nil {
		return nil
	}
	var out []doctor.Provider
	for _, n := range d.models.Names() {
		p, _ := d.models.Provider(n)
		out = append(out, doctor.Provider{Name: n, Endpoint: d.endpoints[n].Host, Models: p.Models})
	}
	return out
}
