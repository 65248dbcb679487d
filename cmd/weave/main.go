// Command weave is the WeftOS kernel daemon and operator CLI.
//
//	weave boot [--detach]      run the kernel on a home directory
//	weave status | ps | ...    talk to the running kernel
//
// Every command takes --home DIR (default $WEFTOS_HOME, else ~/.weftos) and
// --json for machine-readable output. Run `weave help` for the full list.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// env is what every command gets: parsed global flags and the streams.
type env struct {
	home   string
	json   bool
	stdout io.Writer
	stderr io.Writer
}

// client returns a typed client for the daemon on e.home.
func (e *env) client() (*client.Client, error) { return client.New(e.home) }

// withClient runs fn with a client for the daemon on e.home and closes it.
func (e *env) withClient(fn func(c *client.Client) error) error {
	c, err := e.client()
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(c)
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

var commands []command

func register(c command) { commands = append(commands, c) }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		return cmdline.ExitOK
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(stdout, "weave", version)
		return cmdline.ExitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			e := &env{stdout: stdout, stderr: stderr}
			err := c.run(ctx, e, args[1:])
			return cmdline.Report(stderr, "weave", err)
		}
	}
	fmt.Fprintf(stderr, "weave: unknown command %q (run `weave help`)\n", args[0])
	return cmdline.ExitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "weave — the WeftOS kernel daemon and operator CLI")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: weave COMMAND [ARGS] [--home DIR] [--json]")
	fmt.Fprintln(w)
	sorted := append([]command(nil), commands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every command takes --home DIR (default $WEFTOS_HOME, else ~/.weftos) and --json.")
	fmt.Fprintln(w, "Run `weave COMMAND --help` for a command's flags.")
}

// flags returns a flag set with the global flags bound to e.
func (e *env) flags(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("weave "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&e.home, "home", cmdline.DefaultHome(), "WeftOS home directory")
	fs.BoolVar(&e.json, "json", false, "print machine-readable JSON")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: weave %s %s\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}
