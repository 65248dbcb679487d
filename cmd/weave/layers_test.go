package main

import (
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/weftos/weftos/"

// layers are the packages that each provide one layer of the node. The
// lower ones (the first group) stand alone: each imports no other layer,
// directly or through another package, and the kernel sees them only
// through small interfaces it declares. internal/daemon is the composition
// root: nothing but the binaries imports it.
var (
	lowerLayers = []string{"chain", "internal/governance", "internal/memory", "internal/llm", "internal/sandbox", "internal/mesh", "internal/kernel", "internal/plan"}
	upperLayers = []string{"internal/authority", "internal/kernelauth", "internal/toolhost", "internal/agenthost", "internal/apphost",
		"internal/planhost", "internal/ecchost", "internal/xreflink", "internal/cluster", "internal/replica", "internal/remoteipc", "internal/session", "internal/tools", "internal/agent", "internal/agentdef", "internal/daemon"}

	// hostsSeenThrough: a host package that reaches the named layers only
	// through the small interfaces it declares, the daemon passing its
	// values — never by importing them, directly or not.
	hostsSeenThrough = map[string][]string{
		"internal/apphost": {"internal/agenthost", "internal/toolhost", "internal/sandbox", "internal/tools", "internal/agent",
			"internal/cluster", "internal/mesh", "internal/localapi", "internal/daemon"},
		"internal/planhost": {"internal/agenthost", "internal/toolhost", "internal/localapi", "internal/daemon"},
		"internal/ecchost":  {"internal/agenthost", "internal/toolhost", "internal/localapi", "internal/daemon"},
		"internal/xreflink": {"internal/agenthost", "internal/toolhost", "internal/localapi", "internal/daemon"},
	}
)

// deps lists every package of the module with its transitive imports
// (tests excluded), from go list.
func deps(t *testing.T, root string) map[string][]string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	cmd := exec.Command(gobin, "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], module) {
			continue
		}
		var own []string
		for _, d := range f[1:] {
			if p, ok := strings.CutPrefix(d, module); ok {
				own = append(own, p)
			}
		}
		m[strings.TrimPrefix(f[0], module)] = own
	}
	return m
}

// TestLayering: the lower layers import no other layer, and only the
// binaries import the composition root (internal/daemon) — the agent host,
// the WASM tool host, the app host, the plan host and the ECC host in
// particular never reach back into it — and the app, plan and ECC hosts
// reach the agent and tool hosts only through the interfaces they declare.
func TestLayering(t *testing.T) {
	all := deps(t, repoRoot(t))
	layer := map[string]bool{}
	for _, l := range append(append([]string{}, lowerLayers...), upperLayers...) {
		layer[l] = true
	}
	for _, l := range lowerLayers {
		ds, ok := all[l]
		if !ok {
			t.Errorf("lower layer %s is not a package of the module", l)
			continue
		}
		for _, d := range ds {
			if layer[d] {
				t.Errorf("lower layer %s imports the layer %s", l, d)
			}
		}
	}
	var importers []string
	for p, ds := range all {
		if strings.HasPrefix(p, "cmd/") || p == "internal/daemon" || strings.HasPrefix(p, "internal/daemon/") {
			continue
		}
		for _, d := range ds {
			if d == "internal/daemon" {
				importers = append(importers, p)
			}
		}
	}
	sort.Strings(importers)
	for _, p := range importers {
		t.Errorf("%s imports internal/daemon, the composition root; declare a small interface and let the daemon pass its value", p)
	}
	for host, layers := range hostsSeenThrough {
		for _, d := range all[host] {
			if slices.Contains(layers, d) {
				t.Errorf("%s imports %s: declare the small interface it needs and let the daemon pass its value", host, d)
			}
		}
	}
	for _, p := range []string{"internal/agenthost", "internal/toolhost", "internal/apphost", "internal/planhost", "internal/ecchost", "internal/kernelauth", "internal/replica", "internal/remoteipc"} {
		if _, ok := all[p]; !ok {
			t.Errorf("%s is not a package of the module", p)
		}
	}
}
