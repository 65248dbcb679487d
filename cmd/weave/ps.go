package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/kernel"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{Name: "ps", Summary: "list processes (--tree: by parent, supervised agents under their supervisor)",
			Help: "--tree draws each process under its parent — a supervised agent under its supervisor, with its restart type and " +
				"restart count; with --json it prints the tree as nested objects (children), each keeping its parent PID.",
			Setup: e.leaf(cmdPS)}
	})
}

func cmdPS(e *env, fs *flag.FlagSet) cmdline.Action {
	all := fs.Bool("all", false, "include recently exited processes")
	tree := fs.Bool("tree", false, "show processes as a tree by parent and supervisor")
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			ps, err := c.PS(ctx, *all)
			if err != nil {
				return err
			}
			if *tree {
				roots, err := buildTree(ctx, c, ps)
				if err != nil {
					return err
				}
				if e.json {
					return cmdline.PrintJSON(e.stdout, roots)
				}
				return printTree(e, roots)
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, ps)
			}
			now := time.Now()
			rows := make([][]string, len(ps))
			for i, p := range ps {
				rows[i] = []string{p.PID.String(), p.Parent.String(), p.Name, stateOf(p), p.Scope,
					fmt.Sprint(p.MsgsSent), fmt.Sprint(p.ToolCalls), age(now.Sub(p.Started))}
			}
			return cmdline.Table(e.stdout, []string{"PID", "PARENT", "NAME", "STATE", "IPC SCOPE", "MSGS", "TOOL CALLS", "AGE"}, rows)
		})
	}
}

func stateOf(p kernel.Info) string {
	if p.State == kernel.StateExited {
		return fmt.Sprintf("exited(%d)", p.ExitCode)
	}
	return p.State.String()
}
