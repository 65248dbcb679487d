package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

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
				{Name: "start", Summary: "start a long-running agent from agents/NAME.yaml: it serves the definition's services, supervised per its restart policy",
					Args: "NAME", MinArgs: 1, MaxArgs: 1,
					Help: "The definition is looked up in the workspace's agents/ directory, then the home's. Its services are registered " +
						"before the command returns; with restart: (and an optional supervisor: block) the agent runs under that supervisor, " +
						"which restarts it per the policy — see `weave ps --tree`. Stop it for good by stopping its supervisor.",
					Setup: e.leaf(agentStart)},
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
	node := fs.String("node", "", "spawn on this cluster member (node id), decided by its governance")
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
			if *node != "" {
				out, err := c.ClusterSpawn(ctx, apitype.ClusterSpawnRequest{Node: *node, Spawn: req})
				if err != nil {
					return err
				}
				if e.json {
					return cmdline.PrintJSON(e.stdout, out)
				}
				fmt.Fprintln(e.stdout, out.PID)
				return nil
			}
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

func agentStart(e *env, fs *flag.FlagSet) cmdline.Action {
	session := fs.String("session", "", "the session it journals to (default: the agent's name)")
	workspace := fs.String("workspace", "", "the workspace directory (default: the current directory)")
	model := fs.String("model", "", "provider/model (default: the definition's, else agents.model)")
	return func(ctx context.Context, pos []string) error {
		ws := *workspace
		if ws == "" {
			ws = "."
		}
		abs, err := filepath.Abs(ws)
		if err != nil {
			return cmdline.Usagef("--workspace: %v", err)
		}
		return e.withClient(func(c *client.Client) error {
			r, err := c.AgentStart(ctx, apitype.AgentStartRequest{Agent: pos[0], Session: *session, Workspace: abs, Model: *model})
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, r)
			}
			fmt.Fprintf(e.stdout, "%s: pid %s", r.Name, r.PID)
			if r.Supervisor != "" {
				fmt.Fprintf(e.stdout, ", %s under supervisor %s (pid %s)", r.Restart, r.Supervisor, r.SupervisorPID)
			}
			if len(r.Services) > 0 {
				fmt.Fprintf(e.stdout, "; serves %s", strings.Join(r.Services, ", "))
			}
			fmt.Fprintln(e.stdout)
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
				return cmdline.Reply(e.stdout, e.json, map[string]any{"pid": pid, "action": action, "ok": true}, "%s: %s\n", pid, action)
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
			if e.json {
				return cmdline.PrintJSON(e.stdout, in)
			}
			return printInfo(e.stdout, in, time.Now())
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
			return cmdline.Reply(e.stdout, e.json, caps, "%s: capabilities now %s\n", pid, strings.Join(caps.Names(), ", "))
		})
	}
}

// printInfo renders one process for people: identity, state, usage,
// capabilities and limits, then its kind's detail.
func printInfo(w io.Writer, in kernel.Info, now time.Time) error {
	row := func(k, format string, args ...any) {
		fmt.Fprintf(w, "%-13s "+format+"\n", append([]any{k + ":"}, args...)...)
	}
	row("pid", "%d", in.PID)
	row("name", "%s", in.Name)
	row("kind", "%s", in.Kind)
	row("parent", "%d", in.Parent)
	state := in.State.String()
	if in.State == kernel.StateExited {
		state = fmt.Sprintf("exited(%d)", in.ExitCode)
		if in.ExitReason != "" {
			state += ": " + in.ExitReason
		}
	}
	row("state", "%s", state)
	row("started", "%s (%s ago)", in.Started.UTC().Format(time.RFC3339), age(now.Sub(in.Started)))
	if !in.Exited.IsZero() {
		row("exited", "%s", in.Exited.UTC().Format(time.RFC3339))
	}
	row("usage", "%d messages sent, %d received, %d tool calls, %d tokens, %s cpu", in.MsgsSent, in.MsgsRecv, in.ToolCalls, in.Tokens, in.CPUTime.Duration().Round(time.Millisecond))
	if in.InboxCap > 0 {
		row("inbox", "%d/%d", in.InboxLen, in.InboxCap)
	}
	c := in.Caps
	row("capabilities", "%s", orNone(strings.Join(c.Names(), ", ")))
	row("ipc scope", "%s", in.Scope)
	row("tools", "allow %s; deny %s", orNone(strings.Join(c.Tools.Allow, ", ")), orNone(strings.Join(c.Tools.Deny, ", ")))
	row("sandbox", "shell %s, network %s, paths %s, denied %s", onOff(c.Sandbox.Shell), onOff(c.Sandbox.Network),
		orNone(strings.Join(c.Sandbox.AllowedPaths, ", ")), orNone(strings.Join(c.Sandbox.DeniedPaths, ", ")))
	var lim []string
	if l := c.Limits; l != (kernel.Limits{}) {
		for _, p := range []struct {
			name string
			v    uint64
		}{{"messages", l.Messages}, {"tool calls", l.ToolCalls}, {"tokens", l.Tokens}, {"memory bytes", l.MemoryBytes}} {
			if p.v > 0 {
				lim = append(lim, fmt.Sprintf("%s %d", p.name, p.v))
			}
		}
		if l.CPUTime > 0 {
			lim = append(lim, "cpu "+l.CPUTime.String())
		}
	}
	row("limits", "%s", orNone(strings.Join(lim, ", ")))
	if c.Memory != "" {
		row("memory", "%s", c.Memory)
	}
	if len(in.Topics) > 0 {
		row("topics", "%s", strings.Join(in.Topics, ", "))
	}
	if len(in.Monitors) > 0 || len(in.Links) > 0 {
		row("links", "%v, monitors %v", in.Links, in.Monitors)
	}
	if in.Detail != nil {
		if m, ok := in.Detail.(map[string]any); ok {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				v := m[k]
				if _, scalar := v.(string); scalar || v == nil {
					row(k, "%v", v)
					continue
				}
				b, _ := json.Marshal(v)
				row(k, "%s", b)
			}
		} else {
			b, _ := json.Marshal(in.Detail)
			row("detail", "%s", b)
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
