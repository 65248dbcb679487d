// Package agenthost is the agent process kind: an agent is a kernel
// process that answers each request with one run of the agent loop
// (internal/agent), its model calls gated as llm.call acts, its tools —
// built-in, memory, WASM and MCP — ordinary tools behind the one authority
// pipeline, its steps journaled durably in its session, its output streamed
// straight to the client that asked. The daemon builds one Host and wires
// it. The host also keeps the session agents of runs (one per session,
// reaped when idle) and the supervisors started agents run under. What the
// host needs of things the daemon owns (the cluster-aware
// governance gate, ECC's answer linking, the default model) it declares as
// small interfaces here.
package agenthost

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/config"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/kernelauth"
	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/nodemetrics"
	"github.com/weftos/weftos/internal/session"
	"github.com/weftos/weftos/internal/toolhost"
	"github.com/weftos/weftos/internal/tools"
)

// ErrNoModel means no model was named and none is configured.
var ErrNoModel = errors.New("no model: pass --model provider/model (e.g. openai/gpt-4o-mini, anthropic/claude-sonnet-4-5, or ollama/llama3.2 with a [[providers]] entry) or set agents.model in weftos.toml")

// Gates gives an agent's tool calls their governance gate: the one that
// judges paths against the agent's workspace (and, in a cluster, refuses
// while the node is behind the committed constitution).
type Gates interface {
	WorkspaceGate(workspace string) (authority.Gate, error)
}

// Linker links an answer to the memories recalled for it (ECC's Act mode)
// and returns the answer's universal id, or "".
type Linker interface {
	LinkAnswer(ctx context.Context, p *kernel.Process, session, answer string, memories []string) string
}

// DefaultModelFunc resolves the model to use when neither the request nor
// agents.model names one.
type DefaultModelFunc func(ctx context.Context) (string, error)

// PrepareFunc completes a definition loaded from a file before it is
// used (the daemon puts an app's settings into the system prompt of the
// definitions the app installed); it returns the definition, changed or
// not, or why it cannot be used.
type PrepareFunc func(agentdef.Definition) (agentdef.Definition, error)

// Options configure New. Models is nil when no provider is configured
// (agents then fail to spawn with llm.ErrNoProvider); Linker and Logger
// may be nil.
type Options struct {
	Home      string
	Agents    config.Agents // [agents] of weftos.toml
	RecallK   int           // memory.recall: memories recalled per turn (0: none)
	Kernel    *kernel.Kernel
	Auth      *authority.Pipeline
	Metrics   *nodemetrics.Metrics
	Models    *llm.Registry
	Endpoints map[string]Endpoint // provider name → where its prompts go
	Default   DefaultModelFunc
	Builtins  *tools.Registry
	Tools     *toolhost.Host
	Memory    *MemoryStore
	Journals  *session.Committer
	Gates     Gates
	Linker    Linker
	Prepare   PrepareFunc // may be nil
	// StopGrace is how long a stopped agent has to exit (kernel.stop_grace).
	StopGrace time.Duration
	// Closing is closed when the node starts shutting down: runs in
	// flight end with shutting_down. May be nil.
	Closing <-chan struct{}
	Clock   clock.Clock // clock.Real when nil
	Logger  *slog.Logger
}

// Host runs the node's agent processes.
type Host struct {
	toolEncodings toolEncodings // shared by the agents' prompt hashers
	home          string
	agents        config.Agents
	recallK       int
	kernel        *kernel.Kernel
	auth          *authority.Pipeline
	ops           *nodemetrics.Metrics
	models        *llm.Registry
	endpoints     map[string]Endpoint
	defaultModel  DefaultModelFunc
	builtins      *tools.Registry
	builtinSpecs  sync.Map // tool name → llm.ToolSpec, shared by every agent (toolrunner.go)
	toolhost      *toolhost.Host
	memory        *MemoryStore
	journals      *session.Committer
	gates         Gates
	linker        Linker
	prepare       PrepareFunc
	stopGrace     time.Duration
	closing       <-chan struct{}
	clock         clock.Clock
	log           *slog.Logger
	streams       streamTable
	sessions      sessionTable    // the session agents of runs
	supervisors   supervisorTable // the supervisors started agents run under
}

// New builds the agent host.
func New(opts Options) *Host {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	return &Host{home: opts.Home, agents: opts.Agents, recallK: opts.RecallK, kernel: opts.Kernel, auth: opts.Auth, ops: opts.Metrics,
		models: opts.Models, endpoints: opts.Endpoints, defaultModel: opts.Default, builtins: opts.Builtins, toolhost: opts.Tools,
		memory: opts.Memory, journals: opts.Journals, gates: opts.Gates, linker: opts.Linker, prepare: opts.Prepare,
		stopGrace: opts.StopGrace, closing: opts.Closing, clock: opts.Clock, log: opts.Logger}
}

func (h *Host) now() time.Time { return h.clock.Now() }

// Shorthands for the kernel ↔ authority bridge (internal/kernelauth).
func subjectOf(p *kernel.Process, session string) authority.Subject {
	return kernelauth.SubjectOf(p, session)
}
func kernelErr(err error) error { return kernelauth.KernelErr(err) }
func asKernel(err error) error  { return kernelauth.AsKernel(err) }

// validSessionName reports whether s can name a session directory.
func validSessionName(s string) bool { return session.ValidName(s) }

// linkAnswer links a run's answer to the memories recalled for it, when
// the node links answers.
func (h *Host) linkAnswer(ctx context.Context, p *kernel.Process, session, answer string, memories []string) string {
	if h.linker == nil {
		return ""
	}
	return h.linker.LinkAnswer(ctx, p, session, answer, memories)
}
