package agenthost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
)

// operatorDefault is the capability baseline the operator set, as the
// kernel would grant it: the home's agents/default.yaml when there is one,
// else the built-in default agent.
func (h *Host) operatorDefault() (kernel.Capabilities, error) {
	def := agentdef.Default()
	if home, err := agentdef.Find(agentdef.DefaultName, h.home); err == nil && home.Source != "" {
		def = home
	}
	return h.Caps(def)
}

// fromWorkspace reports whether def was read from the workspace (content
// agents and anyone with write access to it can change) rather than the
// operator's home.
func fromWorkspace(def agentdef.Definition, workspace string) bool {
	if def.Source == "" {
		return false
	}
	rel, err := filepath.Rel(workspace, def.Source)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// ApproveDefinition governs the use of a workspace agent definition that
// asks for more than the operator's default (agent.definition; deferred
// for a human by the default constitution). A definition from the home,
// or one that asks for no more than the default, needs nothing.
func (h *Host) ApproveDefinition(ctx context.Context, def agentdef.Definition, workspace string, subject authority.Subject) error {
	if !fromWorkspace(def, workspace) {
		return nil
	}
	base, err := h.operatorDefault()
	if err != nil {
		return err
	}
	want, err := h.Caps(def)
	if err != nil {
		return err
	}
	extra := exceeds(want, base)
	// An MCP server of a workspace definition is a program the daemon
	// would start (or an Endpoint it would reach) on the workspace's say.
	for _, s := range def.MCPServers {
		extra = append(extra, "mcp_server:"+s.Name)
	}
	if len(extra) == 0 {
		return nil
	}
	data, err := os.ReadFile(def.Source)
	if err != nil {
		return fmt.Errorf("agent definition %s: %w", def.Source, err)
	}
	sum := sha256.Sum256(data)
	act := authority.Act{Action: "agent.definition", Kind: governance.KindAgentDefine, Source: "agent", Subject: subject,
		Context: governance.Context{Path: def.Source, Extra: map[string]string{"definition": def.Name, "origin": "workspace",
			"sha256": hex.EncodeToString(sum[:]), "exceeds": strings.Join(extra, ",")}}}
	err = h.auth.Do(ctx, act, func(context.Context, *authority.Permit) (any, error) {
		return governance.AgentDefinitionDetail{Definition: def.Name, Source: def.Source, SHA256: hex.EncodeToString(sum[:]), Exceeds: extra}, nil
	})
	if err != nil {
		return fmt.Errorf("agent definition %s asks for more than the operator's default (%s): %w", def.Source, strings.Join(extra, ", "), asKernel(err))
	}
	return nil
}

// exceeds lists what c holds beyond base (both as the kernel grants
// them): capabilities base lacks, a wider IPC or memory scope, tools base
// does not allow or denies, and limits base sets that c lifts or raises.
func exceeds(c, base kernel.Capabilities) []string {
	var out []string
	for _, n := range c.Names() {
		if !slices.Contains(base.Names(), n) {
			out = append(out, n)
		}
	}
	if scopeRank(c.IPCScope) > scopeRank(base.IPCScope) {
		out = append(out, "ipc_scope:"+c.IPCScope.String())
	}
	if c.Memory.Rank() > base.Memory.Rank() {
		out = append(out, "memory:"+string(c.Memory))
	}
	for _, g := range c.Tools.Allow {
		if !globCovered(g, base.Tools.Allow) {
			out = append(out, "tools_allow:"+g)
		}
	}
	for _, g := range base.Tools.Deny {
		if !slices.Contains(c.Tools.Deny, g) && allowsAny(c.Tools.Allow, g) {
			out = append(out, "tools_deny_lifted:"+g)
		}
	}
	l, b := c.Limits, base.Limits
	for _, x := range []struct {
		name      string
		has, base uint64
	}{{"tool_calls", l.ToolCalls, b.ToolCalls}, {"messages", l.Messages, b.Messages}, {"tokens", l.Tokens, b.Tokens},
		{"memory_bytes", l.MemoryBytes, b.MemoryBytes}, {"cpu_time", uint64(l.CPUTime), uint64(b.CPUTime)}} {
		if x.base > 0 && (x.has == 0 || x.has > x.base) {
			out = append(out, "limit:"+x.name)
		}
	}
	return out
}

// scopeRank orders IPC scopes from narrowest to widest.
func scopeRank(s kernel.IPCScope) int {
	switch s.Kind {
	case kernel.ScopeNone:
		return 0
	case kernel.ScopeParentOnly:
		return 1
	case kernel.ScopeRestricted, kernel.ScopeTopic:
		return 2
	}
	return 3
}

// globCovered reports whether every tool g matches is matched by one of
// globs (conservatively: g itself, or a glob equal to "*").
func globCovered(g string, globs []string) bool {
	for _, b := range globs {
		if b == "*" || b == g {
			return true
		}
		if !strings.ContainsAny(g, "*?[") {
			if ok, _ := path.Match(b, g); ok {
				return true
			}
		}
	}
	return false
}

// allowsAny reports whether some glob in allow could match name.
func allowsAny(allow []string, name string) bool {
	for _, a := range allow {
		if a == "*" || a == name {
			return true
		}
		if ok, _ := path.Match(a, name); ok {
			return true
		}
	}
	return false
}
