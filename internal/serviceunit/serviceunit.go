// Package serviceunit renders the files that make a service manager run
// the weave daemon: a systemd unit (Linux) or a launchd property list
// (macOS). It only renders text; `weave service-install` writes it.
package serviceunit

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Formats.
const (
	Systemd = "systemd"
	Launchd = "launchd"
)

// LaunchdLabel is the launchd job label (and the plist's base name).
const LaunchdLabel = "org.weftos.weave"

// ErrSpec is an unusable Spec.
var ErrSpec = errors.New("serviceunit: bad spec")

// Spec describes the service.
type Spec struct {
	// Binary is the absolute path of the weave executable.
	Binary string
	// Home is the absolute path of the WeftOS home the daemon boots.
	Home string
	// System installs for the whole machine (systemd system unit, launchd
	// daemon) rather than for the user; User then names the account the
	// daemon runs as (required: WeftOS never runs agents as root).
	System bool
	User   string
}

func (s Spec) check() error {
	switch {
	case !filepath.IsAbs(s.Binary):
		return fmt.Errorf("%w: binary %q is not an absolute path", ErrSpec, s.Binary)
	case !filepath.IsAbs(s.Home):
		return fmt.Errorf("%w: home %q is not an absolute path", ErrSpec, s.Home)
	case s.System && (s.User == "" || s.User == "root"):
		return fmt.Errorf("%w: a system service needs --user, an account other than root", ErrSpec)
	case strings.ContainsAny(s.Binary+s.Home+s.User, "\x00\n\r"):
		return fmt.Errorf("%w: a path or user contains a control character", ErrSpec)
	}
	return nil
}

// Render returns the file of format for s.
func Render(format string, s Spec) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	switch format {
	case Systemd:
		return systemdUnit(s), nil
	case Launchd:
		return launchdPlist(s), nil
	}
	return nil, fmt.Errorf("%w: unknown format %q (systemd or launchd)", ErrSpec, format)
}

// systemdQuote quotes one ExecStart argument: double quotes, with
// backslash, quote, specifier (%) and variable ($) characters escaped
// (systemd.service(5), "Command lines"; systemd.unit(5), "Specifiers").
func systemdQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%", "$", "$$")
	return `"` + r.Replace(s) + `"`
}

// systemdEnvQuote quotes an Environment= assignment: no variable
// expansion happens there, so only backslash, quote and % are escaped.
func systemdEnvQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%")
	return `"` + r.Replace(s) + `"`
}

// systemdValue escapes a plain setting's value (specifiers only).
func systemdValue(s string) string { return strings.ReplaceAll(s, "%", "%%") }

func systemdUnit(s Spec) []byte {
	var b bytes.Buffer
	b.WriteString("# Written by `weave service-install`. The daemon stops cleanly on SIGTERM.\n")
	b.WriteString("[Unit]\nDescription=WeftOS kernel (weave)\nAfter=network-online.target\nWants=network-online.target\n\n")
	b.WriteString("[Service]\nType=simple\n")
	if s.System {
		fmt.Fprintf(&b, "User=%s\n", systemdValue(s.User))
	}
	fmt.Fprintf(&b, "Environment=%s\n", systemdEnvQuote("WEFTOS_HOME="+s.Home))
	fmt.Fprintf(&b, "ExecStart=%s boot --home %s\n", systemdQuote(s.Binary), systemdQuote(s.Home))
	b.WriteString("Restart=on-failure\nRestartSec=2s\nTimeoutStopSec=30s\nNoNewPrivileges=yes\n\n")
	b.WriteString("[Install]\n")
	if s.System {
		b.WriteString("WantedBy=multi-user.target\n")
	} else {
		b.WriteString("WantedBy=default.target\n")
	}
	return b.Bytes()
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // writes to a strings.Builder cannot fail
	return b.String()
}

func launchdPlist(s Spec) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by weave service-install. The daemon stops cleanly on SIGTERM. -->
<plist version="1.0">
<dict>
`)
	str := func(k, v string) { fmt.Fprintf(&b, "\t<key>%s</key>\n\t<string>%s</string>\n", k, xmlText(v)) }
	str("Label", LaunchdLabel)
	if s.System {
		str("UserName", s.User)
	}
	b.WriteString("\t<key>ProgramArguments</key>\n\t<array>\n")
	for _, a := range []string{s.Binary, "boot", "--home", s.Home} {
		fmt.Fprintf(&b, "\t\t<string>%s</string>\n", xmlText(a))
	}
	b.WriteString("\t</array>\n")
	b.WriteString("\t<key>EnvironmentVariables</key>\n\t<dict>\n")
	fmt.Fprintf(&b, "\t\t<key>WEFTOS_HOME</key>\n\t\t<string>%s</string>\n\t</dict>\n", xmlText(s.Home))
	b.WriteString("\t<key>RunAtLoad</key>\n\t<true/>\n")
	b.WriteString("\t<key>KeepAlive</key>\n\t<dict>\n\t\t<key>SuccessfulExit</key>\n\t\t<false/>\n\t</dict>\n")
	str("StandardErrorPath", filepath.Join(s.Home, "weave.service.log"))
	b.WriteString("\t<key>ExitTimeOut</key>\n\t<integer>30</integer>\n")
	b.WriteString("</dict>\n</plist>\n")
	return b.Bytes()
}

// DefaultPath returns where format's file goes: for the user under
// userHome (~/.config/systemd/user/weave.service,
// ~/Library/LaunchAgents/org.weftos.weave.plist), for the system under
// /etc/systemd/system or /Library/LaunchDaemons.
func DefaultPath(format string, system bool, userHome string) (string, error) {
	switch {
	case format == Systemd && system:
		return "/etc/systemd/system/weave.service", nil
	case format == Systemd:
		return filepath.Join(userHome, ".config", "systemd", "user", "weave.service"), nil
	case format == Launchd && system:
		return "/Library/LaunchDaemons/" + LaunchdLabel + ".plist", nil
	case format == Launchd:
		return filepath.Join(userHome, "Library", "LaunchAgents", LaunchdLabel+".plist"), nil
	}
	return "", fmt.Errorf("%w: unknown format %q (systemd or launchd)", ErrSpec, format)
}

// NextSteps returns the commands that load and start the installed file.
func NextSteps(format string, system bool, path string) string {
	switch {
	case format == Systemd && system:
		return "sudo systemctl daemon-reload && sudo systemctl enable --now weave"
	case format == Systemd:
		return "systemctl --user daemon-reload && systemctl --user enable --now weave"
	case system:
		return "sudo launchctl bootstrap system " + path
	default:
		return "launchctl bootstrap gui/$(id -u) " + path
	}
}
