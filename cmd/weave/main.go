// Command weave is the WeftOS kernel daemon and operator CLI.
//
//	weave boot [--detach]      run the kernel on a home directory
//	weave status | ps | ...    talk to the running kernel
//
// Every command takes --home DIR (default $WEFTOS_HOME, else ~/.weftos) and
// --json for machine-readable output. Run `weave help` for the full list,
// `weave help COMMAND` for a command's usage, and `weave completion bash`
// (zsh, fish) for a shell completion script.
package main

import (
	"context"
	"flag"
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

// builders make the entries of weave's command table; each file
// registers its commands in init.
var builders []func(e *env) *cmdline.Command

func register(b func(e *env) *cmdline.Command) { builders = append(builders, b) }

// program is weave's command table, its commands bound to e.
func program(e *env) *cmdline.Program {
	p := &cmdline.Program{
		Name:    "weave",
		Summary: "the WeftOS kernel daemon and operator CLI",
		Version: versionLine(),
		Footer:  "Every command takes --home DIR (default $WEFTOS_HOME, else ~/.weftos) and --json.",
		Globals: func(fs *flag.FlagSet) {
			fs.StringVar(&e.home, "home", cmdline.DefaultHome(), "WeftOS home directory")
			fs.BoolVar(&e.json, "json", false, "print machine-readable JSON")
		},
	}
	for _, b := range builders {
		p.Commands = append(p.Commands, b(e))
	}
	sort.Slice(p.Commands, func(i, j int) bool { return p.Commands[i].Name < p.Commands[j].Name })
	return p
}

// leaf adapts a command's setup to the table: f declares the command's
// flags on fs and returns what to run.
func (e *env) leaf(f func(e *env, fs *flag.FlagSet) cmdline.Action) func(*flag.FlagSet) cmdline.Action {
	return func(fs *flag.FlagSet) cmdline.Action { return f(e, fs) }
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return program(&env{stdout: stdout, stderr: stderr}).Run(ctx, args, stdout, stderr)
}
