package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"

	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/serviceunit"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{Name: "service-install", Summary: "write a systemd unit or launchd plist that runs the daemon on this home",
			Setup: e.leaf(cmdServiceInstall),
			Help: "Writes a systemd user unit (Linux; ~/.config/systemd/user/weave.service) or a launchd agent (macOS; " +
				"~/Library/LaunchAgents/org.weftos.weave.plist) that runs `weave boot --home HOME` with this binary, " +
				"restarted if it fails. --system writes a machine-wide unit that runs as --user. An existing file is " +
				"left alone unless --force. --print writes the file to stdout instead. It prints the command that starts the service."}
	})
}

func cmdServiceInstall(e *env, fs *flag.FlagSet) cmdline.Action {
	format := fs.String("format", defaultServiceFormat(), "systemd or launchd")
	system := fs.Bool("system", false, "a machine-wide service (needs --user; run as root to write it)")
	account := fs.String("user", "", "the account a --system service runs as")
	out := fs.String("out", "", "write here instead of the default path")
	bin := fs.String("binary", "", "the weave executable the service runs (default: this one)")
	printOnly := fs.Bool("print", false, "write the file to stdout")
	force := fs.Bool("force", false, "replace an existing file")
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return cmdline.Usagef("service-install takes no arguments")
		}
		exe := *bin
		if exe == "" {
			p, err := os.Executable()
			if err != nil {
				return fmt.Errorf("service-install: find this executable (pass --binary): %w", err)
			}
			exe = p
		}
		exe, err := filepath.Abs(exe)
		if err != nil {
			return err
		}
		home, err := filepath.Abs(e.home)
		if err != nil {
			return err
		}
		text, err := serviceunit.Render(*format, serviceunit.Spec{Binary: exe, Home: home, System: *system, User: *account})
		if err != nil {
			if errors.Is(err, serviceunit.ErrSpec) {
				return cmdline.Usagef("%v", err)
			}
			return err
		}
		if *printOnly {
			_, err := e.stdout.Write(text)
			return err
		}
		path := *out
		if path == "" {
			u, err := user.Current()
			if err != nil {
				return fmt.Errorf("service-install: find the home directory (pass --out): %w", err)
			}
			if path, err = serviceunit.DefaultPath(*format, *system, u.HomeDir); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("service-install: %w", err)
		}
		flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
		if *force {
			flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		}
		f, err := os.OpenFile(path, flags, 0o644)
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("service-install: %s exists (--force replaces it)", path)
		}
		if err != nil {
			return fmt.Errorf("service-install: %w", err)
		}
		if _, err := f.Write(text); err != nil {
			f.Close()
			return fmt.Errorf("service-install: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("service-install: %w", err)
		}
		return cmdline.Reply(e.stdout, e.json, map[string]string{"path": path, "format": *format, "next": serviceunit.NextSteps(*format, *system, path)}, "wrote %s\nstart it with: %s\n", path, serviceunit.NextSteps(*format, *system, path))
	}
}

func defaultServiceFormat() string {
	if runtime.GOOS == "darwin" {
		return serviceunit.Launchd
	}
	return serviceunit.Systemd
}
