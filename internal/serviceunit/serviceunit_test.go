package serviceunit

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestGolden(t *testing.T) {
	user := Spec{Binary: "/opt/weft os/bin/weave", Home: "/home/ann/.weftos %h $HOME \"q\""}
	system := Spec{Binary: "/usr/local/bin/weave", Home: "/var/lib/weftos", System: true, User: "weftos"}
	for _, c := range []struct {
		file   string
		format string
		spec   Spec
	}{
		{"systemd-user.service", Systemd, user},
		{"systemd-system.service", Systemd, system},
		{"launchd-user.plist", Launchd, Spec{Binary: "/Users/ann/go/bin/weave", Home: "/Users/ann/.weftos <&>"}},
		{"launchd-system.plist", Launchd, system},
	} {
		got, err := Render(c.format, c.spec)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		path := filepath.Join("testdata", c.file)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the golden file:\n%s", c.file, got)
		}
		if c.format == Launchd {
			// Well-formed XML whatever the paths hold.
			d := xml.NewDecoder(bytes.NewReader(got))
			d.Strict = true
			for {
				if _, err := d.Token(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("%s: %v", c.file, err)
				}
			}
		}
	}
}

func TestRenderRejects(t *testing.T) {
	for name, s := range map[string]Spec{
		"relative binary": {Binary: "weave", Home: "/h"},
		"relative home":   {Binary: "/b/weave", Home: "h"},
		"system as root":  {Binary: "/b/weave", Home: "/h", System: true, User: "root"},
		"system no user":  {Binary: "/b/weave", Home: "/h", System: true},
		"newline":         {Binary: "/b/weave\nExecStartPre=/bin/evil", Home: "/h"},
	} {
		if _, err := Render(Systemd, s); !errors.Is(err, ErrSpec) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Render("upstart", Spec{Binary: "/b", Home: "/h"}); !errors.Is(err, ErrSpec) {
		t.Errorf("unknown format: %v", err)
	}
}

func TestDefaultPath(t *testing.T) {
	for _, c := range []struct {
		format string
		system bool
		want   string
	}{
		{Systemd, false, "/home/ann/.config/systemd/user/weave.service"},
		{Systemd, true, "/etc/systemd/system/weave.service"},
		{Launchd, false, "/home/ann/Library/LaunchAgents/org.weftos.weave.plist"},
		{Launchd, true, "/Library/LaunchDaemons/org.weftos.weave.plist"},
	} {
		if got, err := DefaultPath(c.format, c.system, "/home/ann"); err != nil || got != c.want {
			t.Errorf("%s system=%v: %q, %v", c.format, c.system, got, err)
		}
	}
}
