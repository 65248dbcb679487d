package kernel

import (
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ScopeKind says whom a process may address over IPC.
type ScopeKind uint8

// IPC scope kinds.
const (
	ScopeNone       ScopeKind = iota // no IPC at all
	ScopeAll                         // any process, topic, service or the kernel
	ScopeParentOnly                  // only its parent
	ScopeRestricted                  // only the listed PIDs
	ScopeTopic                       // only publish to the listed topics
)

var scopeNames = [...]string{"none", "all", "parent", "restricted", "topic"}

func (k ScopeKind) String() string {
	if int(k) < len(scopeNames) {
		return scopeNames[k]
	}
	return "scope(" + strconv.Itoa(int(k)) + ")"
}

// IPCScope is a process's IPC scope: a kind plus, for Restricted, the PIDs
// and, for Topic, the topic names it may address.
type IPCScope struct {
	Kind   ScopeKind
	PIDs   []PID
	Topics []string
}

// Scope constructors.
var (
	ScopeAllowAll   = IPCScope{Kind: ScopeAll}
	ScopeDenyAll    = IPCScope{Kind: ScopeNone}
	ScopeToParent   = IPCScope{Kind: ScopeParentOnly}
	scopeKindByName = map[string]ScopeKind{"none": ScopeNone, "all": ScopeAll, "parent": ScopeParentOnly, "restricted": ScopeRestricted, "topic": ScopeTopic}
)

// RestrictedTo returns a Restricted scope over pids.
func RestrictedTo(pids ...PID) IPCScope { return IPCScope{Kind: ScopeRestricted, PIDs: pids} }

// TopicsOnly returns a Topic scope over names.
func TopicsOnly(names ...string) IPCScope { return IPCScope{Kind: ScopeTopic, Topics: names} }

// String renders the scope as in `weave ps`: all, parent, none,
// restricted(1,2), topic(a,b).
func (s IPCScope) String() string {
	switch s.Kind {
	case ScopeRestricted:
		parts := make([]string, len(s.PIDs))
		for i, p := range s.PIDs {
			parts[i] = p.String()
		}
		return "restricted(" + strings.Join(parts, ",") + ")"
	case ScopeTopic:
		return "topic(" + strings.Join(s.Topics, ",") + ")"
	default:
		return s.Kind.String()
	}
}

// ParseScope parses the String form of a scope.
func ParseScope(s string) (IPCScope, error) {
	s = strings.TrimSpace(s)
	name, args, hasArgs := strings.Cut(s, "(")
	kind, ok := scopeKindByName[strings.ToLower(name)]
	if !ok {
		return IPCScope{}, fmt.Errorf("%w: unknown IPC scope %q (want all, parent, none, restricted(PIDs) or topic(names))", ErrInvalid, s)
	}
	if hasArgs {
		if !strings.HasSuffix(args, ")") {
			return IPCScope{}, fmt.Errorf("%w: IPC scope %q: missing ')'", ErrInvalid, s)
		}
		args = strings.TrimSuffix(args, ")")
	}
	out := IPCScope{Kind: kind}
	switch kind {
	case ScopeRestricted:
		for _, f := range splitList(args) {
			n, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return IPCScope{}, fmt.Errorf("%w: IPC scope %q: bad PID %q", ErrInvalid, s, f)
			}
			out.PIDs = append(out.PIDs, PID(n))
		}
	case ScopeTopic:
		out.Topics = splitList(args)
	default:
		if hasArgs && strings.TrimSpace(args) != "" {
			return IPCScope{}, fmt.Errorf("%w: IPC scope %q takes no arguments", ErrInvalid, s)
		}
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// MarshalText implements encoding.TextMarshaler.
func (s IPCScope) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *IPCScope) UnmarshalText(b []byte) error {
	v, err := ParseScope(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ToolPolicy lists the tools a process may call. Entries are globs in the
// syntax of path.Match. Deny wins over Allow; an empty Allow allows nothing.
type ToolPolicy struct {
	Allow []string `json:"allow,omitempty" toml:"allow"`
	Deny  []string `json:"deny,omitempty" toml:"deny"`
}

// Permits reports whether the policy lets a process call tool.
func (p ToolPolicy) Permits(tool string) bool {
	for _, d := range p.Deny {
		if globMatch(d, tool) {
			return false
		}
	}
	for _, a := range p.Allow {
		if globMatch(a, tool) {
			return true
		}
	}
	return false
}

func globMatch(pattern, name string) bool {
	if pattern == "*" || pattern == name {
		return true
	}
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// SandboxPolicy limits what a process's tools may touch.
type SandboxPolicy struct {
	Shell        bool     `json:"shell" toml:"shell"`
	Network      bool     `json:"network" toml:"network"`
	AllowedPaths []string `json:"allowed_paths,omitempty" toml:"allowed_paths"`
	DeniedPaths  []string `json:"denied_paths,omitempty" toml:"denied_paths"`
}

// PathAllowed reports whether p (absolute, cleaned) lies inside an allowed
// path and outside every denied one.
func (s SandboxPolicy) PathAllowed(p string) bool {
	p = filepath.Clean(p)
	for _, d := range s.DeniedPaths {
		if within(d, p) {
			return false
		}
	}
	for _, a := range s.AllowedPaths {
		if within(a, p) {
			return true
		}
	}
	return false
}

// within reports whether p is dir or below it.
func within(dir, p string) bool {
	dir = filepath.Clean(dir)
	if dir == p {
		return true
	}
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// Limits are a process's resource limits. Zero means unlimited.
type Limits struct {
	// MemoryBytes caps the memory of WASM tools the process runs and the
	// bytes queued in its inbox.
	MemoryBytes uint64 `json:"memory_bytes,omitempty" toml:"memory_bytes"`
	// CPUTime caps the time the process's handler spends running (not
	// waiting for messages).
	CPUTime   time.Duration `json:"cpu_time,omitempty" toml:"cpu_time"`
	ToolCalls uint64        `json:"tool_calls,omitempty" toml:"tool_calls"`
	Messages  uint64        `json:"messages,omitempty" toml:"messages"`
	Tokens    uint64        `json:"tokens,omitempty" toml:"tokens"`
}

// MemoryScope is which semantic memories a process may read and write.
type MemoryScope string

// Memory scopes, from narrowest to widest. The empty scope is "own".
const (
	MemoryNone   MemoryScope = "none"
	MemoryOwn    MemoryScope = "own"
	MemoryShared MemoryScope = "shared"
	MemoryAll    MemoryScope = "all"
)

// Rank orders scopes from narrowest (0) to widest; -1 for an unknown one.
func (m MemoryScope) Rank() int {
	switch m {
	case MemoryNone:
		return 0
	case MemoryOwn, "":
		return 1
	case MemoryShared:
		return 2
	case MemoryAll:
		return 3
	}
	return -1
}

// Capabilities are what a process may do.
type Capabilities struct {
	CanSpawn     bool          `json:"can_spawn"`
	CanIPC       bool          `json:"can_ipc"`
	CanExecTools bool          `json:"can_exec_tools"`
	CanNetwork   bool          `json:"can_network"`
	IPCScope     IPCScope      `json:"ipc_scope"`
	Tools        ToolPolicy    `json:"tools"`
	Sandbox      SandboxPolicy `json:"sandbox"`
	Limits       Limits        `json:"limits"`
	Memory       MemoryScope   `json:"memory,omitempty"`
}

// RootCapabilities are the kernel's: everything, unlimited.
func RootCapabilities() Capabilities {
	return Capabilities{
		CanSpawn: true, CanIPC: true, CanExecTools: true, CanNetwork: true,
		IPCScope: ScopeAllowAll,
		Tools:    ToolPolicy{Allow: []string{"*"}},
		Sandbox:  SandboxPolicy{Shell: true, Network: true, AllowedPaths: []string{string(filepath.Separator)}},
		Memory:   MemoryAll,
	}
}

// Names lists the boolean capabilities the set holds (for governance
// conditions and display), e.g. ["can_ipc", "can_spawn"]. The slice is
// shared by every set with the same names: read it, or copy it before
// changing it (append copies: its capacity is its length).
func (c Capabilities) Names() []string {
	var i int
	for bit, on := range [...]bool{c.CanSpawn, c.CanIPC, c.CanExecTools, c.CanNetwork, c.Sandbox.Shell} {
		if on {
			i |= 1 << bit
		}
	}
	return capNames[i]
}

// capNames holds Names' answer for each combination of the boolean
// capabilities (bit i set: capNameOrder[i] held), nil for none.
var capNames = func() (t [1 << len(capNameOrder)][]string) {
	for i := 1; i < len(t); i++ {
		var names []string
		for bit, name := range capNameOrder {
			if i&(1<<bit) != 0 {
				names = append(names, name)
			}
		}
		t[i] = names[:len(names):len(names)]
	}
	return t
}()

var capNameOrder = [...]string{"can_spawn", "can_ipc", "can_exec_tools", "can_network", "shell"}

// scopeJSON is the wire form of IPCScope inside Capabilities.
func (s IPCScope) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON accepts the String form.
func (s *IPCScope) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return fmt.Errorf("%w: IPC scope must be a string: %v", ErrInvalid, err)
	}
	return s.UnmarshalText([]byte(str))
}

// describe renders the set as flat key/value pairs under prefix, for a
// governance request's context: capabilities (the boolean names), scope,
// tools, memory and the limits that are set.
func (c Capabilities) describe(prefix string) map[string]string {
	out := map[string]string{
		prefix + "capabilities": strings.Join(c.Names(), ","),
		prefix + "scope":        c.IPCScope.String(),
		prefix + "tools_allow":  strings.Join(c.Tools.Allow, ","),
		prefix + "tools_deny":   strings.Join(c.Tools.Deny, ","),
		prefix + "memory":       string(c.Memory),
	}
	l := c.Limits
	for k, v := range map[string]uint64{"tool_calls": l.ToolCalls, "messages": l.Messages, "tokens": l.Tokens, "memory_bytes": l.MemoryBytes} {
		if v > 0 {
			out[prefix+"limit_"+k] = strconv.FormatUint(v, 10)
		}
	}
	if l.CPUTime > 0 {
		out[prefix+"limit_cpu_time"] = l.CPUTime.String()
	}
	return out
}
