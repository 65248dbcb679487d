package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/cmdline"
)

// TestECCCommands: weave ecc link adds a governed edge (with valid times
// given as flags), why and impact walk it, status answers, xref finds the
// chain event; bad times and unknown edge types are usage or API errors.
func TestECCCommands(t *testing.T) {
	c := &cli{t: t, bin: buildWeave(t), home: filepath.Join(t.TempDir(), "home")}
	c.ok("boot", "--detach")
	t.Cleanup(func() { c.run("shutdown") })

	from, to := strings.Repeat("a", 64), strings.Repeat("b", 64)
	c.ok("ecc", "link", "--valid-from", "2026-01-02T03:04:05Z", from, "derived_from", to)
	if out := c.ok("ecc", "why", from); !strings.Contains(out, to[:12]) {
		t.Fatalf("ecc why %s:\n%s", from, out)
	}
	if out := c.ok("ecc", "impact", to); !strings.Contains(out, from[:12]) {
		t.Fatalf("ecc impact %s:\n%s", to, out)
	}
	// As of before the edge held, it is not there.
	if out := c.ok("ecc", "why", "--as-of", "2025-01-01T00:00:00Z", from); strings.Contains(out, to[:12]) {
		t.Fatalf("ecc why as of 2025:\n%s", out)
	}
	c.fail(cmdline.ExitUsage, "not an RFC 3339 time", "ecc", "link", "--valid-to", "tomorrow", from, "derived_from", to)
	c.fail(cmdline.ExitUsage, "not an RFC 3339 time", "ecc", "why", "--as-of", "yesterday", from)
	c.fail(cmdline.ExitError, "", "ecc", "link", from, "likes", to)
	if out := c.ok("ecc", "status"); !strings.Contains(strings.ToLower(out), "tick") {
		t.Fatalf("ecc status:\n%s", out)
	}
	if out := c.ok("xref", "seq:0"); out == "" {
		t.Fatal("xref seq:0 printed nothing")
	}
}
