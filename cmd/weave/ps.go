package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/kernel"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{Name: "ps", Summary: "list processes", Setup: e.leaf(cmdPS)}
	})
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{Name: "service", Summary: "list services: weave service list", Subs: []*cmdline.Command{
			{Name: "list", Summary: "the registered services with their owner, health and methods", Setup: e.leaf(serviceList)},
		}}
	})
}

func cmdPS(e *env, fs *flag.FlagSet) cmdline.Action {
	all := fs.Bool("all", false, "include recently exited processes")
	return func(ctx context.Context, _ []string) error {
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
}

func serviceList(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
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
}
