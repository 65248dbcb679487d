package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServiceInstall renders both formats through the command (golden
// files in testdata/service-install; WEFT_UPDATE_GOLDEN=1 rewrites them),
// writes a unit, refuses to overwrite it and replaces it with --force.
func TestServiceInstall(t *testing.T) {
	weave := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := run(args, &out, &errb)
		return out.String(), errb.String(), code
	}
	for _, c := range []struct{ golden, format string }{{"systemd.service", "systemd"}, {"launchd.plist", "launchd"}} {
		out, stderr, code := weave("service-install", "--print", "--format", c.format, "--binary", "/opt/weft os/bin/weave", "--home", "/srv/weft %h $HOME")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.format, code, stderr)
		}
		path := filepath.Join("testdata", "service-install", c.golden)
		if os.Getenv("WEFT_UPDATE_GOLDEN") == "1" {
			if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if out != string(want) {
			t.Errorf("%s differs from %s:\n%s", c.format, path, out)
		}
	}

	dir := t.TempDir()
	unit := filepath.Join(dir, "units", "weave.service")
	home := filepath.Join(dir, "home")
	out, stderr, code := weave("service-install", "--format", "systemd", "--out", unit, "--home", home, "--binary", "/usr/bin/weave")
	if code != 0 || !strings.Contains(out, "systemctl --user daemon-reload") {
		t.Fatalf("install: %d %q %q", code, out, stderr)
	}
	b, err := os.ReadFile(unit)
	if err != nil || !strings.Contains(string(b), `ExecStart="/usr/bin/weave" boot --home "`+home+`"`) {
		t.Fatalf("unit: %v\n%s", err, b)
	}
	if err := os.WriteFile(unit, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := weave("service-install", "--out", unit, "--home", home); code != 1 || !strings.Contains(stderr, "--force") {
		t.Fatalf("overwrite without --force: %d %q", code, stderr)
	}
	if b, _ := os.ReadFile(unit); string(b) != "mine" {
		t.Fatal("an existing file was replaced without --force")
	}
	if _, stderr, code := weave("service-install", "--format", "systemd", "--out", unit, "--home", home, "--force"); code != 0 {
		t.Fatalf("--force: %d %q", code, stderr)
	}
	if b, _ := os.ReadFile(unit); !strings.Contains(string(b), "[Service]") {
		t.Fatalf("--force did not replace the file: %s", b)
	}
	if _, _, code := weave("service-install", "--system", "--print", "--home", home); code != 2 {
		t.Fatalf("--system without --user: exit %d, want 2", code)
	}
	if out, _, code := weave("service-install", "--help"); code != 0 || !strings.Contains(out, "launchd") {
		t.Fatalf("--help: %d %s", code, out)
	}
}
