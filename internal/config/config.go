// Package config loads weftos.toml, the node's configuration file, and
// writes the documented default on first boot. Unknown keys and bad values
// are errors that name the file, the line and the key.
package config

import (
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// FileName is the configuration file's name inside the home directory.
const FileName = "weftos.toml"

//go:embed default.toml
var defaultTOML []byte

// Default returns the text of the documented default configuration.
func Default() []byte { return append([]byte(nil), defaultTOML...) }

// ErrInvalid matches every configuration error.
var ErrInvalid = errors.New("config: invalid configuration")

// Error is a configuration error at a position in a file.
type Error struct {
	File string
	Line int // 0 when unknown
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Duration is a time.Duration written as a Go duration string ("250ms").
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (want e.g. \"250ms\", \"5s\"): %q", b)
	}
	if v < 0 {
		return fmt.Errorf("negative duration %q", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Config is the node configuration.
type Config struct {
	Log        Log        `toml:"log" json:"log"`
	Kernel     Kernel     `toml:"kernel" json:"kernel"`
	API        API        `toml:"api" json:"api"`
	Chain      Chain      `toml:"chain" json:"chain"`
	Governance Governance `toml:"governance" json:"governance"`
	Agents     Agents     `toml:"agents" json:"agents"`
	Providers  []Provider `toml:"providers" json:"providers"`
	Memory     Memory     `toml:"memory" json:"memory"`
	Gateway    Gateway    `toml:"gateway" json:"gateway"`
	UI         UI         `toml:"ui" json:"ui"`
	Channels   []Channel  `toml:"channels" json:"channels"`
	Routes     []Route    `toml:"routes" json:"routes"`
	Mesh       Mesh       `toml:"mesh" json:"mesh"`
}

// Gateway configures the gateway: the HTTP server that lets OpenAI
// clients, WebSocket clients and webhooks reach agents.
type Gateway struct {
	// Listen is the gateway's TCP address; "" leaves it off. A
	// non-loopback address needs TLSCert and TLSKey.
	Listen  string `toml:"listen" json:"listen"`
	TLSCert string `toml:"tls_cert" json:"tls_cert"`
	TLSKey  string `toml:"tls_key" json:"tls_key"`
	// Workspace is the workspace of gateway- and channel-driven runs; ""
	// means agents.workspace, else HOME-workspace beside the home.
	Workspace string `toml:"workspace" json:"workspace"`
	// RatePerMinute and Burst bound each token's requests; SenderRate
	// bounds each sender (a token's `user`, a chat user) in addition.
	RatePerMinute       int `toml:"rate_per_minute" json:"rate_per_minute"`
	SenderRatePerMinute int `toml:"sender_rate_per_minute" json:"sender_rate_per_minute"`
	Burst               int `toml:"burst" json:"burst"`
	// AllowedOrigins lists the origins (scheme://host[:port]) whose pages
	// may open the WebSocket, besides the gateway's own host.
	AllowedOrigins []string `toml:"allowed_origins" json:"allowed_origins"`
	// KeepAlive is the interval of SSE ": ping" comments and WebSocket
	// pings while an answer is awaited.
	KeepAlive Duration `toml:"keepalive" json:"keepalive"`
	// Hooks are the webhook endpoints (POST /hooks/agent?hook=NAME).
	Hooks []Hook `toml:"hooks" json:"hooks"`
}

// UI configures the control UI: a web dashboard the daemon serves on a
// loopback address (docs/UI.md).
type UI struct {
	// Listen is the UI's loopback TCP address; "" leaves it off.
	Listen string `toml:"listen" json:"listen"`
	// LoginTTL is how long a `weave ui` login link stays valid (it is
	// good for one use); SessionTTL how long a browser session lasts.
	LoginTTL   Duration `toml:"login_ttl" json:"login_ttl"`
	SessionTTL Duration `toml:"session_ttl" json:"session_ttl"`
}

// Hook is one webhook: who may call it (the HMAC secret, by reference) and
// which agent it drives.
type Hook struct {
	Name       string   `toml:"name" json:"name"`
	Agent      string   `toml:"agent" json:"agent"`
	SecretEnv  string   `toml:"secret_env" json:"secret_env"`
	SecretFile string   `toml:"secret_file" json:"secret_file"`
	Window     Duration `toml:"window" json:"window"`
}

// Channel configures one chat channel (Telegram, Slack, Discord).
type Channel struct {
	Name string `toml:"name" json:"name"`
	Kind string `toml:"kind" json:"kind"`
	// TokenEnv / TokenFile name the bot token; AppTokenEnv / AppTokenFile
	// Slack's app-level token (Socket Mode); SigningSecretEnv /
	// SigningSecretFile Slack's signing secret (Events API).
	TokenEnv          string `toml:"token_env" json:"token_env"`
	TokenFile         string `toml:"token_file" json:"token_file"`
	AppTokenEnv       string `toml:"app_token_env" json:"app_token_env"`
	AppTokenFile      string `toml:"app_token_file" json:"app_token_file"`
	SigningSecretEnv  string `toml:"signing_secret_env" json:"signing_secret_env"`
	SigningSecretFile string `toml:"signing_secret_file" json:"signing_secret_file"`
	// BaseURL overrides the platform's API address (a self-hosted Bot API
	// server, a test fake).
	BaseURL string `toml:"base_url" json:"base_url"`
	// WebhookURL puts a Telegram bot in webhook mode: the public https
	// address of the gateway's /hooks/telegram/NAME; the signing secret is
	// the webhook's secret token.
	WebhookURL string `toml:"webhook_url" json:"webhook_url"`
	// Agent is the channel's default agent (routes may choose others).
	Agent string `toml:"agent" json:"agent"`
	// Groups is the allowlist of group chats; empty means none.
	Groups []string `toml:"groups" json:"groups"`
	// MediaMaxBytes caps the files a message may bring into the
	// workspace (0: none are received); MediaTypes lists the MIME type
	// patterns accepted ("text/*", "application/pdf").
	MediaMaxBytes int64    `toml:"media_max_bytes" json:"media_max_bytes"`
	MediaTypes    []string `toml:"media_types" json:"media_types"`
	// Owners are the operator's own accounts on the platform (sender ids):
	// allowed without pairing, their direct messages in sessions named
	// own.CHANNEL.PEER instead of ch.CHANNEL.PEER, so a constitution rule
	// can treat everyone else's sessions apart.
	Owners []string `toml:"owners" json:"owners"`
	// WithoutMention lets the bot answer group messages that do not
	// mention it (by default a group message must mention the bot).
	WithoutMention bool `toml:"without_mention" json:"without_mention"`
}

// Route binds inbound messages to an agent: the most specific binding
// wins (peer, then group, then channel, then the channel's agent).
type Route struct {
	Channel string `toml:"channel" json:"channel"`
	Peer    string `toml:"peer" json:"peer"`
	Group   string `toml:"group" json:"group"`
	Agent   string `toml:"agent" json:"agent"`
}

// Mesh configures links to other nodes and cluster membership
// (docs/MESH.md). A node joins no cluster until `weave cluster init` or
// `weave cluster join`.
type Mesh struct {
	// Listen is the TCP address the mesh listens on once the node is in a
	// cluster (weave cluster init/join --listen overrides it).
	Listen string `toml:"listen" json:"listen"`
	// Advertise is the address other nodes reach this one at (default: the
	// address bound; required when Listen is a wildcard address on a host
	// with several).
	Advertise string `toml:"advertise" json:"advertise"`
	// AllowClassical accepts links from peers without ML-KEM-768. Each such
	// link is recorded on the chain.
	AllowClassical bool `toml:"allow_classical" json:"allow_classical"`
	// SWIM failure detection.
	ProbeInterval  Duration `toml:"probe_interval" json:"probe_interval"`
	ProbeTimeout   Duration `toml:"probe_timeout" json:"probe_timeout"`
	SuspicionMult  int      `toml:"suspicion_mult" json:"suspicion_mult"`
	GossipInterval Duration `toml:"gossip_interval" json:"gossip_interval"`
	// WitnessInterval is how often this node asks each member for its
	// chain's latest checkpoint (chain witnessing).
	WitnessInterval Duration `toml:"witness_interval" json:"witness_interval"`
}

// Memory configures semantic memory.
type Memory struct {
	// Embedder is lexical (built in, offline), openai (any OpenAI-compatible
	// /v1/embeddings server) or ollama (Ollama's native /api/embed).
	Embedder   string `toml:"embedder" json:"embedder"`
	Model      string `toml:"model" json:"model"`
	Dim        int    `toml:"dim" json:"dim"`
	BaseURL    string `toml:"base_url" json:"base_url"`
	APIKeyEnv  string `toml:"api_key_env" json:"api_key_env"`
	APIKeyFile string `toml:"api_key_file" json:"api_key_file"`
	// Recall is how many memories enter an agent's context each turn.
	Recall int `toml:"recall" json:"recall"`
}

// Agents configures the agent framework.
type Agents struct {
	// Model is the default model, "provider/model".
	Model string `toml:"model" json:"model"`
	// Failover lists further "provider/model" routes tried in order when the
	// model's provider is unavailable.
	Failover []string `toml:"failover" json:"failover"`
	// Workspace is the default workspace ("" means the current directory of
	// the `weft` command).
	Workspace string `toml:"workspace" json:"workspace"`
	MaxTurns  int    `toml:"max_turns" json:"max_turns"`
	// RepeatLimit stops an agent that repeats the same tool call with the
	// same arguments more than this many times in one run (one user
	// message).
	RepeatLimit int `toml:"repeat_limit" json:"repeat_limit"`
	// ContextTokens bounds the history sent to the model.
	ContextTokens int `toml:"context_tokens" json:"context_tokens"`
	// Tokens is the per-process token budget (0: unlimited).
	Tokens uint64 `toml:"tokens" json:"tokens"`
	// ShellAllow lists the commands shell_exec may run when an agent holds
	// the shell capability.
	ShellAllow []string `toml:"shell_allow" json:"shell_allow"`
	// ShellConfinement is how shell_exec programs are confined (Linux
	// Landlock): "required" (refuse where confinement is unavailable),
	// "best_effort" (run unconfined there, and say so) or "off".
	ShellConfinement string `toml:"shell_confinement" json:"shell_confinement"`
	// IdleTimeout stops a session's agent process after it has had no
	// message for this long (0: never); the session itself stays.
	IdleTimeout Duration `toml:"idle_timeout" json:"idle_timeout"`
}

// Provider configures an LLM provider.
type Provider struct {
	Name       string `toml:"name" json:"name"`
	Kind       string `toml:"kind" json:"kind"` // openai or anthropic
	BaseURL    string `toml:"base_url" json:"base_url"`
	APIKeyEnv  string `toml:"api_key_env" json:"api_key_env"`
	APIKeyFile string `toml:"api_key_file" json:"api_key_file"`
	// Model is the provider's default model (just the model's name), used
	// when it is the only provider and agents.model is empty.
	Model string `toml:"model" json:"model"`
	// Transport is "auto" (empty means it: plain http:// requests that no
	// proxy applies to are carried by WeftOS's own HTTP/1.1 client, the
	// rest by Go's net/http) or "net/http" (everything by net/http).
	Transport string `toml:"transport" json:"transport,omitempty"`
}

// Log configures logging. The daemon always writes its log to weave.log
// in the home, rotated at FileMaxMiB into weave.log.1 … weave.log.FileKeep.
type Log struct {
	Level      string `toml:"level" json:"level"`
	Format     string `toml:"format" json:"format"`
	FileMaxMiB int    `toml:"file_max_mib" json:"file_max_mib"`
	FileKeep   int    `toml:"file_keep" json:"file_keep"`
}

// Kernel configures the kernel.
type Kernel struct {
	MaxProcesses       int      `toml:"max_processes" json:"max_processes"`
	InboxCapacity      int      `toml:"inbox_capacity" json:"inbox_capacity"`
	DeadLetterCapacity int      `toml:"dead_letter_capacity" json:"dead_letter_capacity"`
	StopGrace          Duration `toml:"stop_grace" json:"stop_grace"`
	// RequestTimeout bounds how long an IPC request waits for its reply
	// when the one asking set no deadline (`weave ipc send --request`
	// sets its own; an agent run waits as long as the turn takes).
	RequestTimeout Duration `toml:"request_timeout" json:"request_timeout"`
	HealthInterval Duration `toml:"health_interval" json:"health_interval"`
	// Procs is the daemon's GOMAXPROCS; 0 means the CPUs Go finds plus
	// two (see default.toml). The GOMAXPROCS environment variable wins.
	Procs int `toml:"procs" json:"procs"`
	// GCPercent is the daemon's garbage collection target (GOGC): the
	// heap may grow this many percent over what is live before a
	// collection. The GOGC environment variable wins.
	GCPercent int `toml:"gc_percent" json:"gc_percent"`
	// MemoryLimitMiB is a soft limit on the daemon's memory (Go's
	// GOMEMLIMIT) in MiB: near it, collections run more often whatever
	// gc_percent says. 0 means none; the GOMEMLIMIT environment variable
	// wins.
	MemoryLimitMiB int `toml:"memory_limit_mib" json:"memory_limit_mib"`
}

// API configures the local API and metrics.
type API struct {
	MetricsAddr string `toml:"metrics_addr" json:"metrics_addr"`
}

// Chain configures the ExoChain audit log.
type Chain struct {
	ChainID            uint32   `toml:"chain_id" json:"chain_id"`
	SegmentSizeMiB     int      `toml:"segment_size_mib" json:"segment_size_mib"`
	CheckpointInterval Duration `toml:"checkpoint_interval" json:"checkpoint_interval"`
	CheckpointEvery    int      `toml:"checkpoint_every" json:"checkpoint_every"`
	RecordIPCPayloads  bool     `toml:"record_ipc_payloads" json:"record_ipc_payloads"`
}

// Governance configures the governance gate.
type Governance struct {
	Environment  string   `toml:"environment" json:"environment"`
	DeferTimeout Duration `toml:"defer_timeout" json:"defer_timeout"`
	// KnownHosts are host globs whose network egress does not raise the
	// security dimension of the effect vector.
	KnownHosts []string `toml:"known_hosts" json:"known_hosts"`
}

// Defaults returns the configuration used for keys the file omits; it
// matches default.toml.
func Defaults() Config {
	return Config{
		Log: Log{Level: "info", Format: "text", FileMaxMiB: 10, FileKeep: 3},
		Kernel: Kernel{MaxProcesses: 4096, InboxCapacity: 1024, DeadLetterCapacity: 1000,
			StopGrace: Duration{5 * time.Second}, RequestTimeout: Duration{30 * time.Second}, HealthInterval: Duration{10 * time.Second}, GCPercent: 100},
		Chain:      Chain{ChainID: 1, SegmentSizeMiB: 64, CheckpointInterval: Duration{100 * time.Millisecond}, CheckpointEvery: 1000},
		Governance: Governance{Environment: "dev", DeferTimeout: Duration{5 * time.Minute}, KnownHosts: []string{}},
		Memory:     Memory{Embedder: "lexical", Dim: 384, Recall: 5},
		Agents: Agents{MaxTurns: 20, RepeatLimit: 3, ContextTokens: 32000, Failover: []string{}, ShellAllow: []string{}, ShellConfinement: "required",
			IdleTimeout: Duration{10 * time.Minute}},
		Gateway: Gateway{RatePerMinute: 60, SenderRatePerMinute: 20, Burst: 10, AllowedOrigins: []string{},
			KeepAlive: Duration{15 * time.Second}, Hooks: []Hook{}},
		UI:       UI{LoginTTL: Duration{5 * time.Minute}, SessionTTL: Duration{12 * time.Hour}},
		Channels: []Channel{},
		Routes:   []Route{},
		Mesh: Mesh{Listen: "127.0.0.1:7787", ProbeInterval: Duration{170 * time.Millisecond}, ProbeTimeout: Duration{100 * time.Millisecond},
			SuspicionMult: 3, GossipInterval: Duration{50 * time.Millisecond},
			WitnessInterval: Duration{5 * time.Second}},
	}
}

// Parse decodes a configuration from data; name is used in errors.
func Parse(name string, data []byte) (Config, error) {
	cfg := Defaults()
	dec := toml.NewDecoder(strings.NewReader(string(data))).DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, decodeError(name, err)
	}
	if err := cfg.Validate(name); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func decodeError(name string, err error) error {
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) && len(sm.Errors) > 0 {
		var errs []error
		for _, e := range sm.Errors {
			row, _ := e.Position()
			errs = append(errs, &Error{File: name, Line: row, Key: strings.Join(e.Key(), "."), Msg: "unknown key"})
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		return &Error{File: name, Line: row, Key: strings.Join(de.Key(), "."), Msg: de.Error()}
	}
	return &Error{File: name, Msg: err.Error()}
}

// Validate checks value ranges.
func (c Config) Validate(name string) error {
	bad := func(key, format string, args ...any) error {
		return &Error{File: name, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return bad("log.format", "%q is not one of text, json", c.Log.Format)
	}
	if c.Log.FileMaxMiB < 1 || c.Log.FileMaxMiB > 1024 {
		return bad("log.file_max_mib", "%d is outside 1..1024", c.Log.FileMaxMiB)
	}
	if c.Log.FileKeep < 1 || c.Log.FileKeep > 100 {
		return bad("log.file_keep", "%d is outside 1..100", c.Log.FileKeep)
	}
	if d := c.Kernel.RequestTimeout.Duration; d < time.Millisecond || d > 24*time.Hour {
		return bad("kernel.request_timeout", "%s is outside 1ms..24h", d)
	}
	if c.Kernel.Procs < 0 || c.Kernel.Procs > 1024 {
		return bad("kernel.procs", "%d is outside 0..1024", c.Kernel.Procs)
	}
	if c.Kernel.GCPercent < 25 || c.Kernel.GCPercent > 10000 {
		return bad("kernel.gc_percent", "%d is outside 25..10000", c.Kernel.GCPercent)
	}
	if c.Kernel.MemoryLimitMiB < 0 || c.Kernel.MemoryLimitMiB > 1<<24 {
		return bad("kernel.memory_limit_mib", "%d is outside 0..16777216", c.Kernel.MemoryLimitMiB)
	}
	if c.Kernel.MaxProcesses < 1 || c.Kernel.MaxProcesses > 1_000_000 {
		return bad("kernel.max_processes", "%d is outside 1..1000000", c.Kernel.MaxProcesses)
	}
	if c.Kernel.InboxCapacity < 1 || c.Kernel.InboxCapacity > 1_000_000 {
		return bad("kernel.inbox_capacity", "%d is outside 1..1000000", c.Kernel.InboxCapacity)
	}
	if c.Kernel.DeadLetterCapacity < 1 || c.Kernel.DeadLetterCapacity > 1_000_000 {
		return bad("kernel.dead_letter_capacity", "%d is outside 1..1000000", c.Kernel.DeadLetterCapacity)
	}
	if c.Kernel.HealthInterval.Duration < 100*time.Millisecond {
		return bad("kernel.health_interval", "%s is below 100ms", c.Kernel.HealthInterval)
	}
	if c.Chain.SegmentSizeMiB < 1 || c.Chain.SegmentSizeMiB > 4096 {
		return bad("chain.segment_size_mib", "%d is outside 1..4096", c.Chain.SegmentSizeMiB)
	}
	if c.Chain.CheckpointInterval.Duration <= 0 {
		return bad("chain.checkpoint_interval", "must be positive")
	}
	if c.Chain.CheckpointEvery < 1 {
		return bad("chain.checkpoint_every", "must be at least 1")
	}
	if c.Agents.MaxTurns < 1 || c.Agents.MaxTurns > 1000 {
		return bad("agents.max_turns", "%d is outside 1..1000", c.Agents.MaxTurns)
	}
	if c.Agents.ContextTokens < 1000 {
		return bad("agents.context_tokens", "%d is below 1000", c.Agents.ContextTokens)
	}
	if c.Agents.IdleTimeout.Duration < 0 {
		return bad("agents.idle_timeout", "must not be negative")
	}
	switch c.Agents.ShellConfinement {
	case "required", "best_effort", "off":
	default:
		return bad("agents.shell_confinement", "%q is not required, best_effort or off", c.Agents.ShellConfinement)
	}
	switch c.Memory.Embedder {
	case "lexical":
	case "openai", "ollama":
		if c.Memory.Model == "" {
			return bad("memory.model", "the %s embedder needs a model", c.Memory.Embedder)
		}
	default:
		return bad("memory.embedder", "%q is not lexical, openai or ollama", c.Memory.Embedder)
	}
	if c.Memory.Dim < 1 || c.Memory.Dim > 65536 {
		return bad("memory.dim", "%d is outside 1..65536", c.Memory.Dim)
	}
	if c.Memory.Recall < 0 || c.Memory.Recall > 50 {
		return bad("memory.recall", "%d is outside 0..50", c.Memory.Recall)
	}
	seen := map[string]bool{}
	for i, p := range c.Providers {
		key := fmt.Sprintf("providers[%d]", i)
		if p.Name == "" || strings.ContainsAny(p.Name, "/ ") {
			return bad(key+".name", "%q must be a non-empty name without '/' or spaces", p.Name)
		}
		if seen[p.Name] {
			return bad(key+".name", "provider %q is defined twice", p.Name)
		}
		seen[p.Name] = true
		if p.Kind != "openai" && p.Kind != "anthropic" {
			return bad(key+".kind", "%q is not openai or anthropic", p.Kind)
		}
		if p.Transport != "" && p.Transport != "auto" && p.Transport != "net/http" {
			return bad(key+".transport", "%q is not auto or net/http", p.Transport)
		}
	}
	if err := c.validateUI(name); err != nil {
		return err
	}
	if err := c.validateGateway(name); err != nil {
		return err
	}
	switch c.Governance.Environment {
	case "dev", "staging", "prod":
	default:
		return bad("governance.environment", "%q is not one of dev, staging, prod", c.Governance.Environment)
	}
	return c.Mesh.validate(bad)
}

func (m Mesh) validate(bad func(key, format string, args ...any) error) error {
	for key, addr := range map[string]string{"mesh.listen": m.Listen, "mesh.advertise": m.Advertise} {
		if addr == "" && key == "mesh.advertise" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return bad(key, "%q is not host:port", addr)
		}
	}
	if m.ProbeInterval.Duration < 10*time.Millisecond {
		return bad("mesh.probe_interval", "%s is below 10ms", m.ProbeInterval)
	}
	if m.ProbeTimeout.Duration <= 0 || m.ProbeTimeout.Duration > m.ProbeInterval.Duration {
		return bad("mesh.probe_timeout", "%s must be positive and at most probe_interval", m.ProbeTimeout)
	}
	if m.SuspicionMult < 1 || m.SuspicionMult > 100 {
		return bad("mesh.suspicion_mult", "%d is outside 1..100", m.SuspicionMult)
	}
	if m.GossipInterval.Duration < 10*time.Millisecond {
		return bad("mesh.gossip_interval", "%s is below 10ms", m.GossipInterval)
	}
	return nil
}

// Load reads dir/weftos.toml, writing the default file first if there is
// none. It returns the configuration and the file's path.
func Load(dir string) (Config, string, error) {
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(path, defaultTOML, 0o600); err != nil {
			return Config{}, path, fmt.Errorf("config: writing default %s: %w", path, err)
		}
		data = defaultTOML
	} else if err != nil {
		return Config{}, path, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(path, data)
	return cfg, path, err
}
