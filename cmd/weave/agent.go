package main

import (
	"context"
	"encoding/json"
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
		return &cmdline.Command{
			Name:    "agent",
			Summary: "spawn, stop, kill, suspend, resume, inspect or grant capabilities to a process",
			Subs: []*cmdline.Command{
				{Name: "spawn", Summary: "start a process and print its PID", Args: "NAME", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(agentSpawn)},
				{Name: "stop", Summary: "ask a process to stop", Args: "PID", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(agentControl("stop"))},
				{Name: "kill", Summary: "end a process at once", Args: "PID", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(agentControl("kill"))},
				{Name: "suspend", Summary: "pause a process", Args: "PID", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(agentControl("suspend"))},
				{Name: "resume", Summary: "resume a suspended process", Args: "PID", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(agentControl("resume"))},
				{Name: "inspect", Summary: "counters, capabilities and recent messages of a process", Args: "PID", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(agentInspect)},
				{Name: "grant", Summary: "add capabilities to a process (decided by governance)", Args: "PID", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(agentGrant)},
			},
		}
	})
}

func agentSpawn(e *env, fs *flag.FlagSet) cmdline.Action {
	kind := fs.String("kind", kernel.MailboxKind, "process kind")
	argJSON := fs.String("args", "", "kind arguments as JSON")
	parent := fs.Uint64("parent", 0, "parent PID (0: the kernel)")
	scope := fs.String("scope", "all", "IPC scope: all, parent, none, restricted(PIDs), topic(names)")
	canSpawn := fs.Bool("can-spawn", false, "grant can_spawn")
	canTools := fs.Bool("can-exec-tools", false, "grant can_exec_tools")
	canNet := fs.Bool("can-network", false, "grant can_network")
	tools := fs.String("tools", "", "comma-separated tool allow list (globs)")
	capsJSON := fs.String("caps", "", "full capabilities as JSON (overrides the other capability flags)")
	return func(ctx context.Context, pos []string) error {
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
}

// agentControl sets up stop, kill, suspend or resume.
func agentControl(action string) func(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(e *env, fs *flag.FlagSet) cmdline.Action {
		return func(ctx context.Context, pos []string) error {
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
	}
}

func agentInspect(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
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
}

// agentGrant elevates a process's capabilities: the current set plus the
// flags given. Governance decides it (capability.elevate); in prod the
// default constitution defers it for approval.
func agentGrant(e *env, fs *flag.FlagSet) cmdline.Action {
	canSpawn := fs.Bool("can-spawn", false, "grant can_spawn")
	canTools := fs.Bool("can-exec-tools", false, "grant can_exec_tools")
	canNet := fs.Bool("can-network", false, "grant can_network")
	shell := fs.Bool("shell", false, "grant the shell sandbox switch")
	tools := fs.String("tools", "", "comma-separated tools to add to the allow list")
	scope := fs.String("scope", "", "replace the IPC scope")
	return func(ctx context.Context, pos []string) error {
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
}
