package daemon

import (
	"context"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/apphost"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/toolhost"
)

// openAppHost builds the app host (internal/apphost) on the node's
// pipeline, agent definitions, WASM tool host, supervisors and cron. It
// comes before the agent host, whose Prepare hook is the app host's
// settings; the agent definitions it reads through appAgents, which
// reaches the agent host only when an app is installed or started.
func (d *Daemon) openAppHost() {
	d.apps = apphost.New(apphost.Options{Home: d.home, Auth: d.auth, Agents: appAgents{d}, Tools: d.toolhost, Services: appServices{d},
		Cron: d, Clock: d.opts.Clock, Logger: d.log.With("layer", "apps")})
}

// appAgents gives the app host the agent host's definitions.
type appAgents struct{ d *Daemon }

// appServices runs an app's services as started agents under the
// daemon's supervisors.
type appServices struct{ d *Daemon }

// What the app host is handed.
var (
	_ apphost.Authority = (*authority.Pipeline)(nil)
	_ apphost.Tools     = (*toolhost.Host)(nil)
	_ apphost.Cron      = (*Daemon)(nil)
	_ apphost.Agents    = appAgents{}
	_ apphost.Services  = appServices{}
)

func (a appAgents) Caps(def agentdef.Definition) (kernel.Capabilities, error) {
	return a.d.agentCaps(def)
}

func (a appAgents) FindAgent(name, workspace string) (agentdef.Definition, error) {
	return a.d.findAgent(name, workspace)
}

func (s appServices) StartService(ctx context.Context, def agentdef.Definition, workspace string) error {
	_, err := s.d.startAgentDef(ctx, apitype.AgentStartRequest{Agent: def.Name}, def, workspace)
	return err
}

func (s appServices) StopSupervisor(ctx context.Context, name string) error {
	return s.d.stopSupervisor(ctx, name)
}
