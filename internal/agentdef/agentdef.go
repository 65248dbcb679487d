// Package agentdef parses, validates and finds agent definitions: the
// agents/NAME.yaml files that give an agent its description, model, system
// prompt, tools, skills, turn limit and capabilities.
//
// Decoding is strict: an unknown or duplicated key, a value of the wrong
// kind, a YAML alias or an out-of-range value is an *Error carrying the file
// and line. The package imports no other WeftOS layer; the agent loop maps a
// Definition onto kernel capabilities itself.
package agentdef

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Limits on what a definition may contain.
const (
	DefaultMaxTurns = 25
	MaxMaxTurns     = 1000
	// MaxFileSize is the largest definition file Load accepts.
	MaxFileSize = 1 << 20
	// MaxSystemPrompt is the longest system prompt accepted, in bytes.
	MaxSystemPrompt = 256 << 10
	// MaxDescription is the longest description accepted, in bytes.
	MaxDescription = 4096
)

var (
	// ErrInvalid matches every parse and validation error.
	ErrInvalid = errors.New("agentdef: invalid agent definition")
	// ErrNotFound is returned by Find when no directory holds the agent.
	ErrNotFound = errors.New("agentdef: agent not found")
)

// Error is a problem at a position in a definition file.
type Error struct {
	File  string
	Line  int    // 0 when unknown
	Field string // dotted key path, "" when not about one key
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Definition is one agent.
type Definition struct {
	Name         string
	Description  string
	Model        string // "provider/model" or a bare model name; "" = the configured default
	SystemPrompt string
	Tools        []string // tool names offered to the model; nil = the loop's default set
	Skills       []string // skill names loaded into the system prompt
	// MaxTurns bounds model calls per run; 0 (unset) defers to
	// agents.max_turns in weftos.toml, then to DefaultMaxTurns.
	MaxTurns     int
	Capabilities Capabilities
	// Services are registered by the agent's process when it is started
	// as a long-running agent (weave agent start), each a governed act.
	Services []Service
	// Supervision, when set, puts a started agent under a supervisor
	// that restarts it according to the policy; nil: not supervised.
	Supervision *Supervision
	// MCPServers are MCP servers whose tools the agent may call, as
	// mcp.SERVER.TOOL (each call governed as mcp.call).
	MCPServers []MCPServer
	// Source is the file the definition was read from; "" for Default().
	Source string
}

// Service is a service the agent serves: messages to service:NAME and
// service:NAME.METHOD reach its process.
type Service struct {
	Name string
	// Methods is the contract: a ServiceMethod message must name one.
	// Empty: the service is addressed as a whole only.
	Methods []string
	// Idempotent lists methods that may run twice with the effect of
	// once (retried on another node's replica when a call goes
	// unanswered).
	Idempotent []string
}

// Restart types of a supervised agent, with Erlang's meaning.
const (
	RestartPermanent = "permanent" // always restarted
	RestartTransient = "transient" // restarted after an abnormal exit (code ≠ 0)
	RestartTemporary = "temporary" // never restarted
)

// Supervision strategies: which agents of a supervisor restart when one
// exits.
const (
	OneForOne  = "one_for_one"  // only the one that exited
	OneForAll  = "one_for_all"  // every agent of the supervisor
	RestForOne = "rest_for_one" // the one that exited and those started after it
)

// Supervision is how a started agent is kept running: the top-level
// restart key and the optional supervisor block.
type Supervision struct {
	Restart string // RestartPermanent, RestartTransient or RestartTemporary
	// Supervisor names the supervisor process; agents naming the same
	// supervisor share it. "" lets the daemon name one after the agent.
	Supervisor string
	// Strategy, MaxRestarts (restarts allowed within Window before the
	// supervisor gives up) and Window configure the supervisor when it is
	// started; zero values take the defaults (one_for_one, 5, 60 s). An
	// agent joining a running supervisor must not contradict it.
	Strategy    string
	MaxRestarts int
	Window      time.Duration
}

// Capabilities are what the agent's process may do. They are requested, not
// granted: the kernel attenuates them against the parent's.
type Capabilities struct {
	CanSpawn     bool
	CanIPC       bool
	CanExecTools bool
	CanNetwork   bool
	// IPCScope uses the kernel's syntax: all, parent, none,
	// restricted(PID,...), topic(name,...). "" leaves the kernel's default.
	IPCScope   string
	ToolsAllow []string // globs in path.Match syntax
	ToolsDeny  []string // globs; deny wins over allow
	Shell      bool     // shell_exec wanted (still gated by governance)
	// Memory is the semantic-memory scope: none, own (the default: the
	// agent's own memories), shared (its own and those marked shared) or
	// all.
	Memory string
	Limits Limits
}

// Limits are resource limits; zero means no limit from the definition.
type Limits struct {
	ToolCalls uint64
	Messages  uint64
	Tokens    uint64
	CPUTime   time.Duration
	MemoryMiB uint64
}

// DefaultCapabilities are those of an agent whose file has no capabilities
// block: tools and IPC to its parent, and the network — which its model
// calls to a remote provider need — but not the network tools (web_fetch is
// denied), no spawning, no shell.
func DefaultCapabilities() Capabilities {
	return Capabilities{
		CanIPC:       true,
		CanExecTools: true,
		CanNetwork:   true,
		IPCScope:     "parent",
		ToolsAllow:   []string{"*"},
		ToolsDeny:    []string{"shell_exec", "web_fetch", "spawn_agent"},
	}
}

// DefaultName is the name of the built-in agent.
const DefaultName = "default"

// Default returns the built-in agent used when no definition is named.
func Default() Definition {
	return Definition{
		Name:        DefaultName,
		Description: "General-purpose assistant working in the current workspace.",
		SystemPrompt: "You are a helpful assistant running as a WeftOS agent process. " +
			"You work inside the user's workspace and may call the tools you are given. " +
			"Prefer reading files before changing them, explain what you did, and answer concisely.",
		Capabilities: DefaultCapabilities(),
	}
}

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	toolRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`)
)

// ValidName reports whether s is a valid agent or skill name: 1 to 64
// characters from [A-Za-z0-9_.-], starting with a letter or digit, and not
// containing "..".
func ValidName(s string) bool {
	return nameRE.MatchString(s) && !strings.Contains(s, "..")
}
