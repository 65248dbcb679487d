package kernel

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Attenuate derives a child's capabilities from its parent's and the
// requested set. A request may only narrow: any boolean, scope, tool, path
// or limit that exceeds the parent's is refused with an error matching
// ErrCapabilityExceeds that names the first excess. Zero limits in the
// request inherit the parent's limits, and the parent's denied tools and
// paths are always added to the child's.
//
// parentPID and grandparentPID resolve relative scopes: a child's ParentOnly
// scope addresses parentPID, and a parent's ParentOnly scope addresses
// grandparentPID.
func Attenuate(parent, req Capabilities, parentPID, grandparentPID PID) (Capabilities, error) {
	exceeds := func(format string, args ...any) (Capabilities, error) {
		return Capabilities{}, fmt.Errorf("%w: %s", ErrCapabilityExceeds, fmt.Sprintf(format, args...))
	}
	for _, b := range []struct {
		name        string
		child, have bool
	}{
		{"can_spawn", req.CanSpawn, parent.CanSpawn},
		{"can_ipc", req.CanIPC, parent.CanIPC},
		{"can_exec_tools", req.CanExecTools, parent.CanExecTools},
		{"can_network", req.CanNetwork, parent.CanNetwork},
		{"sandbox.shell", req.Sandbox.Shell, parent.Sandbox.Shell},
		{"sandbox.network", req.Sandbox.Network, parent.Sandbox.Network},
	} {
		if b.child && !b.have {
			return exceeds("%s is not held by the parent", b.name)
		}
	}
	if err := scopeWithin(req.IPCScope, parent.IPCScope, parent.CanIPC, parentPID, grandparentPID); err != nil {
		return exceeds("ipc scope %s: %v", req.IPCScope, err)
	}
	for _, t := range req.Tools.Allow {
		if !patternWithin(t, parent.Tools.Allow) {
			return exceeds("tool %q is not allowed to the parent", t)
		}
	}
	for _, p := range req.Sandbox.AllowedPaths {
		if !parent.Sandbox.PathAllowed(p) {
			return exceeds("path %q is outside the parent's allowed paths", p)
		}
	}
	if req.Memory.Rank() < 0 {
		return Capabilities{}, fmt.Errorf("%w: unknown memory scope %q", ErrInvalid, req.Memory)
	}
	if req.Memory.Rank() > parent.Memory.Rank() {
		return exceeds("memory scope %s is wider than the parent's %s", req.Memory, parent.Memory)
	}
	out := req
	if out.Memory == "" {
		out.Memory = MemoryOwn
		if parent.Memory.Rank() < MemoryOwn.Rank() {
			out.Memory = parent.Memory
		}
	}
	out.Tools.Deny = union(req.Tools.Deny, parent.Tools.Deny)
	out.Sandbox.DeniedPaths = union(req.Sandbox.DeniedPaths, parent.Sandbox.DeniedPaths)
	var err error
	lim := &out.Limits
	if lim.MemoryBytes, err = limitWithin("memory_bytes", req.Limits.MemoryBytes, parent.Limits.MemoryBytes); err != nil {
		return Capabilities{}, err
	}
	if lim.ToolCalls, err = limitWithin("tool_calls", req.Limits.ToolCalls, parent.Limits.ToolCalls); err != nil {
		return Capabilities{}, err
	}
	if lim.Messages, err = limitWithin("messages", req.Limits.Messages, parent.Limits.Messages); err != nil {
		return Capabilities{}, err
	}
	if lim.Tokens, err = limitWithin("tokens", req.Limits.Tokens, parent.Limits.Tokens); err != nil {
		return Capabilities{}, err
	}
	cpu, err := limitWithin("cpu_time", uint64(req.Limits.CPUTime), uint64(parent.Limits.CPUTime))
	if err != nil {
		return Capabilities{}, err
	}
	lim.CPUTime = time.Duration(cpu)
	return out, nil
}

func limitWithin(name string, child, parent uint64) (uint64, error) {
	switch {
	case child == 0:
		return parent, nil
	case parent == 0 || child <= parent:
		return child, nil
	default:
		return 0, fmt.Errorf("%w: limit %s %d is above the parent's %d", ErrCapabilityExceeds, name, child, parent)
	}
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// scopeWithin reports whether a child holding scope c addresses nothing its
// parent (scope p) could not.
func scopeWithin(c, p IPCScope, parentCanIPC bool, parentPID, grandparentPID PID) error {
	if c.Kind == ScopeNone {
		return nil
	}
	if !parentCanIPC || p.Kind == ScopeNone {
		return fmt.Errorf("the parent holds no IPC")
	}
	if p.Kind == ScopeAll {
		return nil
	}
	// The set of PIDs the parent may address, for Restricted children.
	var reach []PID
	switch p.Kind {
	case ScopeParentOnly:
		reach = []PID{grandparentPID}
	case ScopeRestricted:
		reach = p.PIDs
	}
	switch c.Kind {
	case ScopeAll:
		return fmt.Errorf("the parent's scope is %s", p)
	case ScopeParentOnly:
		// Talking back to one's own parent never adds authority.
		return nil
	case ScopeRestricted:
		for _, pid := range c.PIDs {
			if pid != parentPID && !slices.Contains(reach, pid) {
				return fmt.Errorf("PID %d is outside the parent's scope %s", pid, p)
			}
		}
		return nil
	case ScopeTopic:
		if p.Kind != ScopeTopic {
			return fmt.Errorf("the parent's scope %s allows no topics", p)
		}
		for _, t := range c.Topics {
			if !slices.Contains(p.Topics, t) {
				return fmt.Errorf("topic %q is outside the parent's scope %s", t, p)
			}
		}
		return nil
	}
	return fmt.Errorf("unknown scope kind")
}

// patternWithin reports whether every name the glob child matches is matched
// by one of the parent patterns. A literal child is checked by matching; a
// child glob must equal a parent pattern or extend the literal prefix of a
// parent pattern of the form "prefix*".
func patternWithin(child string, parent []string) bool {
	if !strings.ContainsAny(child, `*?[\`) {
		for _, p := range parent {
			if globMatch(p, child) {
				return true
			}
		}
		return false
	}
	for _, p := range parent {
		if p == child {
			return true
		}
		prefix, ok := strings.CutSuffix(p, "*")
		if ok && !strings.ContainsAny(prefix, `*?[\`) && strings.HasPrefix(child, prefix) {
			return true
		}
	}
	return false
}
