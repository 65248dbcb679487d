// Command weft is the WeftOS agent CLI: chat with an agent that runs as a
// kernel process, one shot or interactively, and manage models, sessions
// and skills.
//
//	weft agent                        interactive chat, tokens streamed
//	weft agent -m "Summarise README.md"
//	weft plan "Write a release note from CHANGES.md and the open issues"
//	weft models [PROVIDER]
//	weft sessions list|show|rm|export|fork
//	weft skills list
//	weft tools install PATH | list | inspect NAME | run NAME --input JSON | remove NAME
//
// With a running daemon (`weave boot`) the agent runs there and shows in
// `weave ps`; with none, weft boots the kernel in-process on the same home
// (same chain, same governance). Every command takes --home DIR (default
// $WEFTOS_HOME, else ~/.weftos) and --json. `weft help COMMAND` shows a
// command's usage; `weft completion bash` (zsh, fish) prints a shell
// completion script.
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
	"sync"
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

	intrMu sync.Mutex
	// onInterrupt, when set, handles Ctrl-C (the REPL cancels the answer
	// in progress) and reports whether it did; otherwise Ctrl-C ends weft.
	onInterrupt func() bool
}

// setInterrupt installs (or, with nil, removes) the Ctrl-C handler.
func (e *env) setInterrupt(f func() bool) {
	e.intrMu.Lock()
	e.onInterrupt = f
	e.intrMu.Unlock()
}

// interrupt handles one Ctrl-C; false means nobody did.
func (e *env) interrupt() bool {
	e.intrMu.Lock()
	f := e.onInterrupt
	e.intrMu.Unlock()
	return f != nil && f()
}

// program is weft's command table, its commands bound to e.
func program(e *env) *cmdline.Program {
	return &cmdline.Program{
		Name:    "weft",
		Summary: "the WeftOS agent CLI",
		Version: version,
		Footer:  "Every command takes --home DIR (default $WEFTOS_HOME, else ~/.weftos) and --json.",
		Globals: func(fs *flag.FlagSet) {
			fs.StringVar(&e.home, "home", cmdline.DefaultHome(), "WeftOS home directory")
			fs.BoolVar(&e.json, "json", false, "print machine-readable JSON")
		},
		Commands: []*cmdline.Command{
			{Name: "agent", Summary: "chat with an agent (interactive, or one shot with -m)", Setup: e.leaf(cmdAgent),
				Help: "Interactive: /exit, /reset, /model NAME, /tools, /session NAME. One shot (-m) exits 0 on an answer, 1 on an agent error, 2 with no provider or configuration."},
			{Name: "plan", Summary: "plan a goal as a DAG of tasks and run them on agents in parallel (ECC Generate)", Args: "GOAL...", MinArgs: 1, MaxArgs: -1,
				Help: planHelp, Setup: e.leaf(cmdPlan)},
			{Name: "models", Summary: "list the models a provider offers", Args: "[PROVIDER]", MaxArgs: 1, Setup: e.leaf(cmdModels)},
			{Name: "sessions", Summary: "list, show or remove sessions", Subs: []*cmdline.Command{
				{Name: "list", Summary: "the sessions with their status and steps", Setup: e.leaf(sessionsList)},
				{Name: "show", Summary: "a session's messages and tool calls", Args: "NAME", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(sessionsShow)},
				{Name: "rm", Summary: "remove a session", Args: "NAME", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(sessionsRm)},
				{Name: "export", Summary: "write a session as its checksummed journal (JSON Lines) or a Markdown transcript", Args: "NAME", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(sessionsExport)},
				{Name: "fork", Summary: "start a new session as a copy of one (optionally of its first steps)", Args: "NAME NEW", MinArgs: 2, MaxArgs: 2, Setup: e.leaf(sessionsFork)},
			}},
			{Name: "skills", Summary: "list the skills agents can load", Subs: []*cmdline.Command{
				{Name: "list", Summary: "the skills of the workspace and the home", Setup: e.leaf(skillsList)},
			}},
			{Name: "tools", Summary: "install, list, inspect, run or remove WASM tools", Subs: []*cmdline.Command{
				{Name: "install", Summary: "install a tool package (a directory with tool.toml, or an archive)", Args: "PATH", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(toolsInstall)},
				{Name: "list", Summary: "the installed tools with their limits and hosts", Setup: e.leaf(toolsList)},
				{Name: "inspect", Summary: "an installed tool's manifest, as JSON", Args: "NAME", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(toolsInspect)},
				{Name: "run", Summary: "run a tool once with a JSON input", Args: "NAME", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(toolsRun)},
				{Name: "remove", Aliases: []string{"rm"}, Summary: "remove an installed tool", Args: "NAME", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(toolsRemove)},
			}},
		},
	}
}

// leaf adapts a command's setup to the table: f declares the command's
// flags on fs and returns what to run.
func (e *env) leaf(f func(e *env, fs *flag.FlagSet) cmdline.Action) func(*flag.FlagSet) cmdline.Action {
	return func(fs *flag.FlagSet) cmdline.Action { return f(e, fs) }
}

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // runs before wg.Wait: the watcher ends
	wg.Go(func() {
		for {
			select {
			case s := <-sigs:
				if s == os.Interrupt && e.interrupt() {
					continue
				}
				cancel()
				return
			case <-ctx.Done():
				return
			}
		}
	})
	return program(e).Run(ctx, args, stdout, stderr)
}

// withKernel runs fn with a client for the daemon on the home, or for a
// kernel booted in-process when none runs (see connect).
func (e *env) withKernel(ctx context.Context, fn func(c *client.Client) error) error {
	c, closeFn, err := e.connect(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	return fn(c)
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
