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
		return &cmdline.Command{Name: "ps", Summary: "list processes (--tree: by parent, supervised agents under their supervisor; --cluster: every member's)",
			Help: "--tree draws each process under its parent — a supervised agent under its supervisor, with its restart type and " +
				"restart count; with --json it prints the tree as nested objects (children), each keeping its parent PID.\n" +
				"--cluster lists the processes of every member of this node's cluster, asked in parallel (3 s each); a member that " +
				"cannot be asked (dead, left, unreachable) is listed with the reason, also on stderr.",
			Setup: e.leaf(cmdPS)}
	})
}

func cmdPS(e *env, fs *flag.FlagSet) cmdline.Action {
	all := fs.Bool("all", false, "include recently exited processes")
	tree := fs.Bool("tree", false, "show processes as a tree by parent and supervisor")
	clusterWide := fs.Bool("cluster", false, "list the processes of every member of the cluster")
	return func(ctx context.Context, _ []string) error {
		if *clusterWide && *tree {
			return cmdline.Usagef("--cluster and --tree cannot be combined")
		}
		return e.withClient(func(c *client.Client) error {
			if *clusterWide {
				return psCluster(ctx, e, c, *all)
			}
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

// psCluster prints every member's processes, one table with the node first.
func psCluster(ctx context.Context, e *env, c *client.Client, all bool) error {
	nodes, err := c.ClusterProcesses(ctx, all)
	if err != nil {
		return err
	}
	if e.json {
		return cmdline.PrintJSON(e.stdout, nodes)
	}
	now := time.Now()
	var rows [][]string
	for _, n := range nodes {
		node := n.NodeID
		if n.Name != "" {
			node = n.Name
		}
		if n.Self {
			node += " *"
		}
		if n.Error != "" {
			fmt.Fprintf(e.stderr, "weave: ps --cluster: %s (%s): %s\n", n.NodeID, n.State, n.Error)
			rows = append(rows, []string{node, "-", "-", "-", "(" + n.State + ": not listed)", "-", "-", "-", "-"})
			continue
		}
		for _, p := range n.Processes {
			rows = append(rows, []string{node, p.PID.String(), p.Parent.String(), p.Name, stateOf(p), p.Scope,
				fmt.Sprint(p.MsgsSent), fmt.Sprint(p.ToolCalls), age(now.Sub(p.Started))})
		}
	}
	return cmdline.Table(e.stdout, []string{"NODE", "PID", "PARENT", "NAME", "STATE", "IPC SCOPE", "MSGS", "TOOL CALLS", "AGE"}, rows)
}
