package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/layers"
)

// edgeTags is the edge build (EDGE_TAGS in the Makefile): every optional
// layer compiled out, plus the tags that trim what the node does not use
// (docs/PLATFORMS.md, "Build tags"); its layer tags are the ones
// weave --version names.
func edgeTags(t *testing.T) (all string, layerTags []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "EDGE_TAGS"); ok {
			if v, ok = strings.CutPrefix(strings.TrimSpace(v), ":="); ok {
				all = strings.TrimSpace(v)
			}
		}
	}
	for _, tag := range strings.Split(all, ",") {
		for _, l := range layers.All() {
			if tag == l.Tag {
				layerTags = append(layerTags, tag)
			}
		}
	}
	if len(layerTags) != len(layers.All()) {
		t.Fatalf("the Makefile's EDGE_TAGS %q does not compile every layer out", all)
	}
	return all, layerTags
}

// netHTTPAllowed are the packages of the edge build still allowed to
// import net/http: none, now that nollm compiles the LLM providers out.
var netHTTPAllowed = map[string]bool{}

// TestEdgeBuildLinksNoNetHTTP: with the edge tags, nothing but the
// packages above imports net/http (or crypto/tls, crypto/x509), so the
// binary does not carry them (docs/BENCHMARKS.md, "Local API without
// net/http").
func TestEdgeBuildLinksNoNetHTTP(t *testing.T) {
	edgeTags, _ := edgeTags(t)
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
	edgeTags, layerTags := edgeTags(t)
	bin := filepath.Join(t.TempDir(), "weave-edge")
	// Built as a release builds it (.ci/sizes), to hold it to its size.
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-tags", edgeTags, "-ldflags", "-s -w -buildid=", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build -tags %s: %v", edgeTags, err)
	}
	// Issue 17: the edge build fits in 8 MiB (docs/BENCHMARKS.md).
	if fi, err := os.Stat(bin); err != nil {
		t.Fatal(err)
	} else if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" && fi.Size() > 8<<20 {
		t.Errorf("the edge build is %d bytes, above 8 MiB (%d)", fi.Size(), 8<<20)
	}
	c := &cli{t: t, bin: bin, home: filepath.Join(t.TempDir(), "home")}
	if v := c.ok("--version"); !strings.Contains(v, "-tags "+strings.Join(layerTags, ",")) || !strings.Contains(v, "nonethttp)") {
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
		{layers.LLM, []string{"agent", "start", "scribe"}},
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
