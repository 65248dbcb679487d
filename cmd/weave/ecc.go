package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{
			Name:    "xref",
			Summary: "everything linked to an id: chain events, memory records, sessions, tool calls, processes",
			Help: "ID is a universal id (64 hex digits), a unique prefix of 8+ digits, or a key: seq:N, session:NAME,\n" +
				"pid:N, memory:CONTENTID, call:PID/CALLID, action:ID. --depth follows links that many hops.",
			Args: "ID", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(xrefShow),
		}
	})
}

func xrefShow(e *env, fs *flag.FlagSet) cmdline.Action {
	depth := fs.Int("depth", 1, "follow links this many hops (1-6)")
	return func(ctx context.Context, pos []string) error {
		if *depth < 1 || *depth > 6 {
			return cmdline.Usagef("--depth must be 1 to 6")
		}
		return e.withClient(func(c *client.Client) error {
			out, err := c.Xref(ctx, pos[0], *depth)
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, out)
			}
			printXref(e, out)
			return nil
		})
	}
}

func printXref(e *env, r apitype.XrefResponse) {
	label := map[string]string{}
	for _, n := range r.Nodes {
		l := n.Key
		if l == "" {
			l = n.ID[:12]
		}
		label[n.ID] = l + " (" + n.Type + ")"
	}
	root := r.Nodes[0]
	fmt.Fprintf(e.stdout, "%s\n  id   %s\n  type %s\n", label[root.ID], root.ID, root.Type)
	if len(r.Links) == 0 {
		fmt.Fprintln(e.stdout, "no links")
		return
	}
	fmt.Fprintf(e.stdout, "%d links (indexed through seq %d):\n", len(r.Links), r.Through)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	for _, l := range r.Links {
		fmt.Fprintf(tw, "  %s\t--%s-->\t%s\tseq %d\n", label[l.From], l.Rel, label[l.To], l.Seq)
	}
	_ = tw.Flush()
	if r.Truncated {
		fmt.Fprintln(e.stdout, "(truncated: ask for a smaller --depth)")
	}
}
