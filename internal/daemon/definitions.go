package daemon

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

// operatorDefault is the capability baseline the operator set: the home's
// agents/default.yaml when there is one, else the built-in default.
func (d *Daemon) operatorDefault() agentdef.Capabilities {
	if def, err := agentdef.Find(agentdef.DefaultName, d.home); err == nil && def.Source != "" {
		return def.Capabilities
	}
	return agentdef.DefaultCapabilities()
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

// approveDefinition governs the use of a workspace agent definition that
// asks for more than the operator's default (agent.definition; deferred
// for a human by the default constitution). A definition from the home,
// or one that asks for no more than the default, needs nothing.
func (d *Daemon) approveDefinition(ctx context.Context, def agentdef.Definition, workspace string, subject authority.Subject) error {
	if !fromWorkspace(def, workspace) {
		return nil
	}
	extra := exceeds(def.Capabilities, d.operatorDefault())
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
	err = d.auth.Do(ctx, act, func(context.Context, *authority.Permit) (any, error) {
		return governance.AgentDefinitionDetail{Definition: def.Name, Source: def.Source, SHA256: hex.EncodeToString(sum[:]), Exceeds: extra}, nil
	})
	if err != nil {
		return fmt.Errorf("agent definition %s asks for more than the operator's default (%s): %w", def.Source, strings.Join(extra, ", "), asKernel(err))
	}
	return nil
}

// exceeds lists what c asks for beyond base: capabilities base lacks, a
// wider IPC or memory scope, tools base does not allow (or denies), and
// limits base sets that c lifts or raises.
func exceeds(c, base agentdef.Capabilities) []string {
	var out []string
	for _, b := range []struct {
		name      string
		has, base bool
	}{{"can_spawn", c.CanSpawn, base.CanSpawn}, {"can_ipc", c.CanIPC, base.CanIPC}, {"can_exec_tools", c.CanExecTools, base.CanExecTools},
		{"can_network", c.CanNetwork, base.CanNetwork}, {"shell", c.Shell, base.Shell}} {
		if b.has && !b.base {
			out = append(out, b.name)
		}
	}
	if scopeRank(c.IPCScope) > scopeRank(base.IPCScope) {
		out = append(out, "ipc_scope:"+c.IPCScope)
	}
	if kernel.MemoryScope(c.Memory).Rank() > kernel.MemoryScope(base.Memory).Rank() {
		out = append(out, "memory:"+c.Memory)
	}
	for _, g := range c.ToolsAllow {
		if !globCovered(g, base.ToolsAllow) {
			out = append(out, "tools_allow:"+g)
		}
	}
	for _, g := range base.ToolsDeny {
		if !slices.Contains(c.ToolsDeny, g) && allowsAny(c.ToolsAllow, g) {
			out = append(out, "tools_deny_lifted:"+g)
		}
	}
	for _, l := range []struct {
		name      string
		has, base uint64
	}{{"tool_calls", c.Limits.ToolCalls, base.Limits.ToolCalls}, {"messages", c.Limits.Messages, base.Limits.Messages},
		{"tokens", c.Limits.Tokens, base.Limits.Tokens}, {"memory_mib", c.Limits.MemoryMiB, base.Limits.MemoryMiB},
		{"cpu_time", uint64(c.Limits.CPUTime), uint64(base.Limits.CPUTime)}} {
		if l.base > 0 && (l.has == 0 || l.has > l.base) {
			out = append(out, "limit:"+l.name)
		}
	}
	return out
}

// scopeRank orders IPC scopes from narrowest to widest; unparsable
// scopes count as widest.
func scopeRank(s string) int {
	if s == "" {
		s = "parent"
	}
	sc, err := kernel.ParseScope(s)
	if err != nil {
		return 4
	}
	switch sc.Kind {
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
