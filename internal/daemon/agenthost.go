//go:build !nollm

package daemon

import (
	"context"

	"github.com/weftos/weftos/internal/agenthost"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/kernel"
)

// AgentKind is the process kind of LLM agents (internal/agenthost).
const AgentKind = agenthost.Kind

// openAgentHost builds the agent host (internal/agenthost) on the node's
// kernel, pipeline, models, tools, memory and session journals, and
// registers the agent process kind. Spawns of agents can only come after.
func (d *Daemon) openAgentHost() {
	d.agenthost = agenthost.New(agenthost.Options{Home: d.home, Agents: d.cfg.Agents, RecallK: d.cfg.Memory.Recall, Kernel: d.kernel,
		Auth: d.auth, Metrics: d.ops, Models: d.models, Endpoints: d.endpoints, Default: d.defaultModel, Builtins: d.builtins,
		Tools: d.toolhost, Memory: (*agenthost.MemoryStore)(d.memory), Journals: d.journals, Gates: agentGates{d}, Linker: answerLinker{d},
		Prepare: d.apps.WithConfig, StopGrace: d.cfg.Kernel.StopGrace.Duration, Closing: d.closing, Clock: d.opts.Clock, Logger: d.log})
	d.kernel.RegisterKind(agenthost.Kind, d.agenthost.KindFunc(d.bgCtx))
}

// agentGates gives an agent's tool calls the governance gate of its
// workspace, behind the cluster's consensus check.
type agentGates struct{ d *Daemon }

// answerLinker is ECC's Act mode for the agent host.
type answerLinker struct{ d *Daemon }

// What the agent host is handed.
var (
	_ agenthost.Gates  = agentGates{}
	_ agenthost.Linker = answerLinker{}
)

func (g agentGates) WorkspaceGate(workspace string) (authority.Gate, error) {
	gate, err := g.d.gov.workspaceGate(workspace)
	if err != nil {
		return nil, err
	}
	return consensusGate{g.d, gate}, nil
}

func (l answerLinker) LinkAnswer(ctx context.Context, p *kernel.Process, session, answer string, memories []string) string {
	return l.d.linkAnswer(ctx, p, session, answer, memories)
}
