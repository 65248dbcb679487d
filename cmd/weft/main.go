// Command weft is the WeftOS agent CLI: chat with an agent that runs as a
// kernel process, one shot or interactively, and manage models, sessions
// and skills.
//
//	weft agent                        interactive chat, tokens streamed
//	weft agent -m "Summarise README.md"
//	weft models [PROVIDER]
//	weft sessions list|show|rm
//	weft skills list
//	weft tools install PATH | list | inspect NAME | run NAME --input JSON | remove NAME
//
// With a running daemon (`weave boot`) the agent runs there and shows in
// `weave ps`; with none, weft boots the kernel in-process on the same home
// (same chain, same governance). Every command takes --home DIR (default
// $WEFTOS_HOME, else ~/.weftos) and --json.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/daemon"
)

var version = "dev"

type env struct {
	home string
	json bool
	// external is set when the commands talk to a daemon started
	// elsewhere (it read its environment when it booted).
	external bool
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
}

type command struct {
	name, summary string
	run           func(ctx context.Context, e *env, args []string) error
}

var commands = []command{
	{"agent", "chat with an agent (interactive, or one shot with -m)", cmdAgent},
	{"models", "list the models a provider offers", cmdModels},
	{"sessions", "list, show or remove sessions", cmdSessions},
	{"skills", "list the skills agents can load", cmdSkills},
	{"tools", "install, list, inspect, run or remove WASM tools", cmdTools},
}

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stdout, "weft — the WeftOS agent CLI\n\nUsage: weft COMMAND [ARGS] [--home DIR] [--json]")
		fmt.Fprintln(stdout)
		for _, c := range commands {
			fmt.Fprintf(stdout, "  %-10s %s\n", c.name, c.summary)
		}
		return cmdline.ExitOK
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(stdout, "weft", version)
		return cmdline.ExitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
			return cmdline.Report(stderr, "weft", c.run(ctx, e, args[1:]))
		}
	}
	fmt.Fprintf(stderr, "weft: unknown command %q (run `weft help`)\n", args[0])
	return cmdline.ExitUsage
}

func (e *env) flags(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("weft "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&e.home, "home", cmdline.DefaultHome(), "WeftOS home directory")
	fs.BoolVar(&e.json, "json", false, "print machine-readable JSON")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: weft %s %s\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// connect returns a client for the daemon on the home, booting the kernel
// in-process when no daemon runs; closeFn shuts that kernel down.
func (e *env) connect(ctx context.Context) (c *client.Client, closeFn func(), err error) {
	if c, err = client.New(e.home); err != nil {
		return nil, nil, err
	}
	if _, err = c.Status(ctx); err == nil {
		e.external = true
		return c, c.Close, nil
	} else if !errors.Is(err, client.ErrNoDaemon) {
		c.Close()
		return nil, nil, err
	}
	lv := new(slog.LevelVar)
	lv.Set(slog.LevelWarn)
	d, err := daemon.Open(ctx, daemon.Options{Home: e.home, Version: version,
		Logger: slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: lv}))})
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, func() {
		c.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Close(cctx); err != nil {
			fmt.Fprintln(e.stderr, "weft: shutting down the in-process kernel:", err)
		}
	}, nil
}
