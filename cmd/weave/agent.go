package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/weftos/weftos/internal/cmdline"
	"strings"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/kernel"
)

func init() {
	register(command{"agent", "spawn, stop, kill, suspend, resume or inspect a process", cmdAgent})
}

func cmdAgent(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return cmdline.Usagef("agent: want spawn, stop, kill, suspend, resume, inspect or grant")
	}
	switch sub := args[0]; sub {
	case "spawn":
		return agentSpawn(ctx, e, args[1:])
	case "stop", "kill", "suspend", "resume":
		return agentControl(ctx, e, sub, args[1:])
	case "inspect":
		return agentInspect(ctx, e, args[1:])
	case "grant":
		return agentGrant(ctx, e, args[1:])
	default:
		return cmdline.Usagef("agent: unknown subcommand %q (want spawn, stop, kill, suspend, resume, inspect or grant)", sub)
	}
}

func agentSpawn(ctx context.Context, e *env, args []string) error {
	fs := e.flags("agent spawn", "NAME [--kind KIND] [--args JSON] [--parent PID] [--scope SCOPE] [--caps JSON]")
	kind := fs.String("kind", kernel.MailboxKind, "process kind")
	argJSON := fs.String("args", "", "kind arguments as JSON")
	parent := fs.Uint64("parent", 0, "parent PID (0: the kernel)")
	scope := fs.String("scope", "all", "IPC scope: all, parent, none, restricted(PIDs), topic(names)")
	canSpawn := fs.Bool("can-spawn", false, "grant can_spawn")
	canTools := fs.Bool("can-exec-tools", false, "grant can_exec_tools")
	canNet := fs.Bool("can-network", false, "grant can_network")
	tools := fs.String("tools", "", "comma-separated tool allow list (globs)")
	capsJSON := fs.String("caps", "", "full capabilities as JSON (overrides the other capability flags)")
	pos, err := cmdline.Parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	req := apitype.SpawnRequest{Name: pos[0], Kind: *kind, Parent: kernel.PID(*parent)}
	if *argJSON != "" {
		if !json.Valid([]byte(*argJSON)) {
			return cmdline.Usagef("--args is not valid JSON")
		}
		req.Args = json.RawMessage(*argJSON)
	}
	var caps kernel.Capabilities
	if *capsJSON != "" {
		dec := json.NewDecoder(strings.NewReader(*capsJSON))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&caps); err != nil {
			return cmdline.Usagef("--caps: %v", err)
		}
	} else {
		sc, err := kernel.ParseScope(*scope)
		if err != nil {
			return cmdline.Usagef("--scope: %v", err)
		}
		caps = kernel.Capabilities{CanIPC: sc.Kind != kernel.ScopeNone, IPCScope: sc, CanSpawn: *canSpawn, CanExecTools: *canTools, CanNetwork: *canNet}
		if *tools != "" {
			caps.Tools.Allow = strings.Split(*tools, ",")
		}
	}
	req.Caps = &caps
	return e.withClient(func(c *client.Client) error {
		pid, err := c.Spawn(ctx, req)
		if err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, apitype.SpawnResponse{PID: pid})
		}
		fmt.Fprintln(e.stdout, pid)
		return nil
	})
}

func agentControl(ctx context.Context, e *env, action string, args []string) error {
	fs := e.flags("agent "+action, "PID")
	pos, err := cmdline.Parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	pid, err := client.ParsePID(pos[0])
	if err != nil {
		return cmdline.Usagef("%v", err)
	}
	return e.withClient(func(c *client.Client) error {
		if err := c.Control(ctx, pid, action); err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, map[string]any{"pid": pid, "action": action, "ok": true})
		}
		fmt.Fprintf(e.stdout, "%s: %s\n", pid, action)
		return nil
	})
}

func agentInspect(ctx context.Context, e *env, args []string) error {
	fs := e.flags("agent inspect", "PID")
	pos, err := cmdline.Parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	pid, err := client.ParsePID(pos[0])
	if err != nil {
		return cmdline.Usagef("%v", err)
	}
	return e.withClient(func(c *client.Client) error {
		in, err := c.Inspect(ctx, pid)
		if err != nil {
			return err
		}
		// Inspect output is structured; JSON is its human form too.
		return cmdline.PrintJSON(e.stdout, in)
	})
}

// agentGrant elevates a process's capabilities: the current set plus the
// flags given. Governance decides it (capability.elevate); in prod the
// default constitution defers it for approval.
func agentGrant(ctx context.Context, e *env, args []string) error {
	fs := e.flags("agent grant", "PID [--can-spawn] [--can-exec-tools] [--can-network] [--shell] [--tools a,b] [--scope SCOPE]")
	canSpawn := fs.Bool("can-spawn", false, "grant can_spawn")
	canTools := fs.Bool("can-exec-tools", false, "grant can_exec_tools")
	canNet := fs.Bool("can-network", false, "grant can_network")
	shell := fs.Bool("shell", false, "grant the shell sandbox switch")
	tools := fs.String("tools", "", "comma-separated tools to add to the allow list")
	scope := fs.String("scope", "", "replace the IPC scope")
	pos, err := cmdline.Parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	pid, err := client.ParsePID(pos[0])
	if err != nil {
		return cmdline.Usagef("%v", err)
	}
	return e.withClient(func(c *client.Client) error {
		in, err := c.Inspect(ctx, pid)
		if err != nil {
			return err
		}
		caps := in.Caps
		caps.CanSpawn = caps.CanSpawn || *canSpawn
		caps.CanExecTools = caps.CanExecTools || *canTools
		caps.CanNetwork = caps.CanNetwork || *canNet
		caps.Sandbox.Shell = caps.Sandbox.Shell || *shell
		if *tools != "" {
			caps.Tools.Allow = append(caps.Tools.Allow, strings.Split(*tools, ",")...)
		}
		if *scope != "" {
			sc, err := kernel.ParseScope(*scope)
			if err != nil {
				return cmdline.Usagef("--scope: %v", err)
			}
			caps.IPCScope, caps.CanIPC = sc, sc.Kind != kernel.ScopeNone
		}
		if err := c.Elevate(ctx, pid, caps); err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, caps)
		}
		fmt.Fprintf(e.stdout, "%s: capabilities now %s\n", pid, strings.Join(caps.Names(), ", "))
		return nil
	})
}
