package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/kernel"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{Name: "service", Summary: "list, register or unregister services", Subs: []*cmdline.Command{
			{Name: "list", Summary: "the registered services with their owner, health and methods", Setup: e.leaf(serviceList)},
			{Name: "register", Summary: "register a process as a service (decided by governance)", Args: "NAME", MinArgs: 1, MaxArgs: 1,
				Help: "Messages to service:NAME then reach the process --pid; --method (repeatable, or comma-separated) sets the " +
					"contract that service:NAME.METHOD must name. The service goes away when its process exits.",
				Setup: e.leaf(serviceRegister)},
			{Name: "unregister", Aliases: []string{"rm"}, Summary: "remove a service (decided by governance)", Args: "NAME", MinArgs: 1, MaxArgs: 1,
				Setup: e.leaf(serviceUnregister)},
		}}
	})
}

// listFlag collects a repeatable flag; each value may be a comma-separated
// list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Type() string   { return "string" }
func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
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

func serviceRegister(e *env, fs *flag.FlagSet) cmdline.Action {
	pid := fs.String("pid", "", "the process that serves it (required)")
	var methods listFlag
	fs.Var(&methods, "method", "a method of the contract (repeatable, or comma-separated)")
	var idem listFlag
	fs.Var(&idem, "idempotent", "a method of the contract that may run twice with the effect of once: retried once on another node's replica when a call goes unanswered (repeatable, or comma-separated)")
	typ := fs.String("type", "", "a label for listings (default: the process's kind)")
	return func(ctx context.Context, pos []string) error {
		if *pid == "" {
			return cmdline.Usagef("service register needs --pid PID")
		}
		owner, err := client.ParsePID(*pid)
		if err != nil {
			return cmdline.Usagef("--pid: %v", err)
		}
		if !kernel.ValidServiceName(pos[0]) {
			return cmdline.Usagef("service name %q: use 1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit (no dot: NAME.METHOD names a method)", pos[0])
		}
		return e.withClient(func(c *client.Client) error {
			s, err := c.RegisterService(ctx, apitype.ServiceRegisterRequest{Name: pos[0], PID: owner, Methods: methods, Idempotent: idem, Type: *typ})
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, s)
			}
			contract := "no methods"
			if len(s.Methods) > 0 {
				contract = "methods " + strings.Join(s.Methods, ", ")
			}
			fmt.Fprintf(e.stdout, "service %s: process %s (%s), %s\n", s.Name, s.Owner, contract, s.Health)
			return nil
		})
	}
}

func serviceUnregister(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		return e.withClient(func(c *client.Client) error {
			if err := c.UnregisterService(ctx, pos[0]); err != nil {
				return err
			}
			return cmdline.Reply(e.stdout, e.json, map[string]any{"name": pos[0], "ok": true}, "service %s unregistered\n", pos[0])
		})
	}
}
