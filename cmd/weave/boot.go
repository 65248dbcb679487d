package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/daemon"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/logfile"
	"github.com/weftos/weftos/internal/redact"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{Name: "boot", Summary: "run the kernel (foreground; --detach for background)", Setup: e.leaf(cmdBoot)}
	})
}

func cmdBoot(e *env, fs *flag.FlagSet) cmdline.Action {
	detach := fs.Bool("detach", false, "run in the background; pid file and log in the home")
	logFormat := fs.String("log-format", "", "log format: text or json (default from weftos.toml)")
	logLevel := fs.String("log-level", "", "log level: debug, info, warn, error (default from weftos.toml)")
	logStderr := fs.Bool("log-stderr", true, "also write the log to stderr (it always goes to HOME/"+daemon.LogName+"; --detach turns this off)")
	return func(ctx context.Context, _ []string) error {
		if *logFormat != "" && *logFormat != "text" && *logFormat != "json" {
			return cmdline.Usagef("--log-format must be text or json")
		}
		if *detach {
			return bootDetached(ctx, e, *logFormat, *logLevel)
		}
		out := e.stderr
		if !*logStderr {
			out = io.Discard
		}
		d, err := daemon.Open(ctx, daemon.Options{Home: e.home, Version: version, LogFormat: *logFormat, LogLevel: *logLevel, LogOutput: out, SetRuntime: true})
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
		case <-d.Done():
		}
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return d.Close(cctx)
	}
}

// bootDetached starts `weave boot` as a background process in its own
// session and waits until its API answers. The daemon writes its log to
// HOME/weave.log itself (rotated); its stdout and stderr — only what
// bypasses the log: a boot error, a panic's stack — go to
// HOME/weave.stderr, truncated at each detached boot so it stays small.
func bootDetached(ctx context.Context, e *env, logFormat, logLevel string) error {
	if err := os.MkdirAll(e.home, 0o700); err != nil {
		return err
	}
	if c, err := e.client(); err == nil {
		st, serr := c.Status(ctx)
		c.Close()
		if serr == nil {
			return fmt.Errorf("another weave daemon is running on this home (pid %d): %s", st.OSPID, e.home)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logPath := filepath.Join(e.home, homedir.Log)
	errPath := filepath.Join(e.home, homedir.Stderr)
	errf, err := os.OpenFile(errPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer errf.Close()
	args := []string{"boot", "--home", e.home, "--log-stderr=false"}
	if logFormat != "" {
		args = append(args, "--log-format", logFormat)
	}
	if logLevel != "" {
		args = append(args, "--log-level", logLevel)
	}
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = errf, errf
	cmd.SysProcAttr = detachAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting daemon: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	c, err := e.client()
	if err != nil {
		return err
	}
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		st, err := c.Status(sctx)
		cancel()
		if err == nil && st.OSPID == cmd.Process.Pid {
			return cmdline.Reply(e.stdout, e.json, map[string]any{"pid": st.OSPID, "node_id": st.NodeID, "home": st.Home, "log": logPath}, "weave started: pid %d, node %s, log %s\n", st.OSPID, st.NodeID, logPath)
		}
		select {
		case werr := <-exited:
			why := ""
			if lines, _ := logfile.Tail(errPath, 1); len(lines) == 1 {
				why = ": " + redact.String(lines[0])
			}
			return fmt.Errorf("daemon exited during boot (%v)%s; see %s and %s", werr, why, errPath, logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("daemon did not become ready in 15s; see weave logs, %s and %s", logPath, errPath)
		}
		if err != nil && !errors.Is(err, client.ErrNoDaemon) {
			return err
		}
	}
}
