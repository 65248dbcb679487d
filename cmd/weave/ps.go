package main

import (
	"context"
	"fmt"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/kernel"
)

func init() {
	register(command{"ps", "list processes", cmdPS})
	register(command{"service", "list services: weave service list", cmdService})
}

func cmdPS(ctx context.Context, e *env, args []string) error {
	fs := e.flags("ps", "[--all]")
	all := fs.Bool("all", false, "include recently exited processes")
	if _, err := cmdline.Parse(fs, args, 0, 0); err != nil {
		return err
	}
	return e.withClient(func(c *client.Client) error {
		ps, err := c.PS(ctx, *all)
		if err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, ps)
		}
		now := time.Now()
		rows := make([][]string, len(ps))
		for i, p := range ps {
			state := p.State.String()
			if p.State == kernel.StateExited {
				state = fmt.Sprintf("exited(%d)", p.ExitCode)
			}
			rows[i] = []string{p.PID.String(), p.Parent.String(), p.Name, state, p.Scope,
				fmt.Sprint(p.MsgsSent), fmt.Sprint(p.ToolCalls), age(now.Sub(p.Started))}
		}
		return cmdline.Table(e.stdout, []string{"PID", "PARENT", "NAME", "STATE", "IPC SCOPE", "MSGS", "TOOL CALLS", "AGE"}, rows)
	})
}

func cmdService(ctx context.Context, e *env, args []string) error {
	fs := e.flags("service", "list")
	pos, err := cmdline.Parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if pos[0] != "list" {
		return cmdline.Usagef("service: unknown subcommand %q (want list)", pos[0])
	}
	return e.withClient(func(c *client.Client) error {
		svcs, err := c.Services(ctx)
		if err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, svcs)
		}
		rows := make([][]string, len(svcs))
		for i, s := range svcs {
			h := string(s.Health)
			if s.LastError != "" {
				h += ": " + s.LastError
			}
			rows[i] = []string{s.Name, s.Type, s.Owner.String(), h, strings.Join(s.Methods, ",")}
		}
		return cmdline.Table(e.stdout, []string{"NAME", "TYPE", "OWNER PID", "HEALTH", "METHODS"}, rows)
	})
}
