package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/layers"
)

// edgeTags compile every optional layer out and put the local API on
// internal/minihttp: the minimal edge build (kernel, chain, governance;
// docs/PLATFORMS.md, "Build tags").
const edgeTags = "nomesh,nosandbox,nomemory,nochannels,nomcp,noui,nollm,nonethttp"

// netHTTPAllowed are the packages of the edge build still allowed to
// import net/http: internal/llm until the nollm tag compiles the LLM
// providers out (then the list is empty).
var netHTTPAllowed = map[string]bool{"github.com/weftos/weftos/internal/llm": true}

// TestEdgeBuildLinksNoNetHTTP: with the edge tags, nothing but the
// packages above imports net/http (or crypto/tls, crypto/x509), so the
// binary does not carry them (docs/BENCHMARKS.md, "Local API without
// net/http").
func TestEdgeBuildLinksNoNetHTTP(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", edgeTags, "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || netHTTPAllowed[f[0]] || !strings.HasPrefix(f[0], "github.com/weftos/") {
			continue
		}
		for _, imp := range f[1:] {
			if imp == "net/http" || imp == "crypto/tls" || imp == "crypto/x509" {
				t.Errorf("%s imports %s in the edge build (-tags %s)", f[0], imp, edgeTags)
			}
		}
	}
}

// TestEdgeBuild builds weave with every optional layer compiled out,
// boots it and checks that the node works (status, chain, governance)
// and that each missing layer's commands are still there and say why
// they cannot run.
func TestEdgeBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "weave-edge")
	build := exec.Command("go", "build", "-tags", edgeTags, "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build -tags %s: %v", edgeTags, err)
	}
	c := &cli{t: t, bin: bin, home: filepath.Join(t.TempDir(), "home")}
	if v := c.ok("--version"); !strings.Contains(v, "-tags nomesh,nosandbox,nomemory,nochannels,nomcp,noui") || !strings.Contains(v, "nonethttp)") {
		t.Fatalf("weave --version: %q", v)
	}
	// Commands that need no daemon explain themselves offline.
	c.fail(cmdline.ExitError, notBuilt(layers.Memory), "memory", "bench")

	c.ok("boot", "--detach")
	t.Cleanup(func() { c.run("shutdown") })
	var st struct{ Health struct{ Status string } }
	c.jsonOut(&st, "status")
	if st.Health.Status != "healthy" {
		t.Fatalf("status: %+v", st)
	}
	c.ok("chain", "verify")
	c.ok("gov", "audit")
	pid := strings.TrimSpace(c.ok("agent", "spawn", "m"))
	c.ok("ipc", "send", pid, "hello")

	for _, tc := range []struct {
		layer string
		args  []string
	}{
		{layers.Mesh, []string{"cluster", "status"}},
		{layers.Memory, []string{"memory", "stats"}},
		{layers.Mesh, []string{"cluster", "init", "edge"}},
		{layers.Channels, []string{"gateway", "token", "list"}},
		{layers.Channels, []string{"channels", "status"}},
		{layers.UI, []string{"ui"}},
		{layers.MCP, []string{"mcp", "serve", "--stdio"}},
	} {
		c.fail(cmdline.ExitError, notBuilt(tc.layer), tc.args...)
	}
	// Help still lists the missing layers' commands.
	help := c.ok("help")
	for _, cmd := range []string{"cluster", "gateway", "ui", "mcp", "memory"} {
		if !strings.Contains(help, "\n  "+cmd+" ") {
			t.Errorf("help does not list %s:\n%s", cmd, help)
		}
	}
}

func notBuilt(layer string) string {
	return `layer "` + layer + `" is not built into this binary (built with -tags no` + layer + `)`
}
