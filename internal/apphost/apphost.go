// Package apphost is the node's app host: it installs, upgrades, starts,
// stops and removes apps (weftapp packages, internal/apppkg), restarts at
// boot the apps that were running, keeps each app's settings
// (app.configure) and the publisher keys trusted to sign apps (app.trust,
// app.distrust). Every privileged act goes through the authority pipeline
// (app.install, app.remove, app.configure, app.trust, app.distrust; an
// app's tools as tool.install and tool.remove acts of the tool host, its
// services' spawns and registrations and its cron jobs as the kernel's
// governed acts).
//
// It knows nothing of the daemon: what it needs of other layers — the
// pipeline, the agent definitions, the WASM tool host, the services an app
// runs and its cron jobs — it declares here as small interfaces, which the
// daemon (the composition root) implements.
package apphost

import (
	"context"
	"log/slog"
	"sync"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/kernel"
)

// Dir holds installed apps in the home: NAME/app.json (the record),
// NAME/config.json (the settings the operator set: config.go),
// NAME/VERSION-DIGEST/ (each installed version's package), and
// trusted_keys (the publisher keys trusted to sign apps: trust.go).
const Dir = "apps"

// App errors.
var (
	ErrUnknownApp = apitype.ErrUnknownApp
	ErrAppExists  = apitype.ErrAppExists
)

// Authority is the one path for privileged acts (*authority.Pipeline).
type Authority interface {
	Authorize(ctx context.Context, act authority.Act) (*authority.Permit, error)
	Refuse(ctx context.Context, act authority.Act, cause error) error
	Do(ctx context.Context, act authority.Act, run func(ctx context.Context, pm *authority.Permit) (detail any, err error)) error
}

// Agents resolves agent definitions (*agenthost.Host): the capabilities a
// definition asks for, and the definition an agent name means for a
// workspace (completed by the host's Prepare hook, which the daemon points
// at [Host.WithConfig]).
type Agents interface {
	Caps(def agentdef.Definition) (kernel.Capabilities, error)
	FindAgent(name, workspace string) (agentdef.Definition, error)
}

// Tools is the WASM tool host (*toolhost.Host): each Install and Remove a
// governed act of its own (tool.install, tool.remove). Remove of a tool
// not installed answers an error wrapping toolpkg.ErrUnknownTool; Record
// of one answers an error.
type Tools interface {
	Install(ctx context.Context, path string) (apitype.InstalledTool, error)
	Record(name string) (apitype.InstalledTool, error)
	Remove(ctx context.Context, name string) error
}

// Services runs an app's services.
type Services interface {
	// StartService starts def (its Supervision set by the app) in
	// workspace as a long-running agent registering its definition's
	// services: the supervisor's and the agent's spawns and each
	// registration governed. It returns once the services are registered.
	StartService(ctx context.Context, def agentdef.Definition, workspace string) error
	// StopSupervisor stops the supervisor named name, and with it every
	// agent under it, and waits (bounded) for it to exit. A supervisor not
	// running is no error.
	StopSupervisor(ctx context.Context, name string) error
}

// Cron adds and removes kernel cron jobs, each a governed act (cron.add,
// cron.rm). RemoveCron of a job not there answers an error wrapping
// kernel.ErrUnknownJob.
type Cron interface {
	AddCron(ctx context.Context, req apitype.CronRequest) (kernel.CronJob, error)
	RemoveCron(ctx context.Context, id string) error
}

// Options configure New. Logger may be nil.
type Options struct {
	Home     string // the node's home: apps in Home/Dir, definitions in Home/agents, skills in Home/skills
	Auth     Authority
	Agents   Agents
	Tools    Tools
	Services Services
	Cron     Cron
	Clock    clock.Clock
	Logger   *slog.Logger
}

// Host manages the node's apps. It is safe for concurrent use.
type Host struct {
	home     string
	auth     Authority
	agents   Agents
	tools    Tools
	services Services
	cron     Cron
	clock    clock.Clock
	log      *slog.Logger

	// filesMu serializes read-modify-write of the apps' config files and
	// of the trusted keys file (the governed decisions before them run
	// concurrently; each change applies to the file as it is then).
	filesMu sync.Mutex
}

// New builds the app host.
func New(opts Options) *Host {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	return &Host{home: opts.Home, auth: opts.Auth, agents: opts.Agents, tools: opts.Tools, services: opts.Services, cron: opts.Cron,
		clock: opts.Clock, log: opts.Logger}
}
