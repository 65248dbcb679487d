package main

import (
	"os"
	"path/filepath"
	"regexp"
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

	// ecc analyze: a folder becomes records and edges; again, nothing new
	// and the same hash, which ecc status shows too.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.md"), []byte("# Plan\n\nAda Lovelace reviews it.\n\n# Later\n\nGrace Hopper ships it.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := c.ok("ecc", "analyze", dir)
	hash := regexp.MustCompile(`hash ([0-9a-f]{64})`).FindStringSubmatch(out)
	if !strings.Contains(out, "1 analysed") || hash == nil {
		t.Fatalf("ecc analyze:\n%s", out)
	}
	if again := c.ok("ecc", "analyze", dir); !strings.Contains(again, "1 unchanged") || !strings.Contains(again, hash[1]) {
		t.Fatalf("ecc analyze again:\n%s", again)
	}
	if st := c.ok("ecc", "status"); !strings.Contains(st, hash[1]) {
		t.Fatalf("ecc status lacks the hash %s:\n%s", hash[1], st)
	}
	c.fail(cmdline.ExitUsage, "needs a PATH or --session", "ecc", "analyze")
}
