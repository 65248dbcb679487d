package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

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
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{
			Name:    "ecc",
			Summary: "the cognitive layer: causal graph (link, why, impact), analyze, impulses and tick (status)",
			Help: "Nodes are named as for `weave xref` (ids, keys such as seq:N or memory:ID, prefixes), or by a new\n" +
				"64-hex-digit id (a derived artifact's). Edge types: follows, part_of, mentions, supersedes,\n" +
				"contradicts, derived_from, depends_on, evidence_for.",
			Subs: []*cmdline.Command{
				{Name: "link", Summary: "add an edge FROM TYPE TO (a governed act, on the chain)", Args: "FROM TYPE TO", MinArgs: 3, MaxArgs: 3, Setup: e.leaf(eccLink)},
				{Name: "why", Summary: "the evidence behind an id: what it derives from, depends on, supersedes", Args: "ID", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(eccWalk(false))},
				{Name: "impact", Summary: "what depends on an id, and what is stale because of it", Args: "ID", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(eccWalk(true))},
				{Name: "analyze", Summary: "turn files, folders or sessions into memory, entities and graph edges (idempotent; prints the graph hash)",
					Help: "Each file (or session transcript) is chunked; every chunk becomes a memory record, part_of its document,\n" +
						"following the chunk before it, and mentioning the entities found in it (names, @handles, dates).\n" +
						"Each batch of chunks is a governed act (ecc.analyze) on the chain. Re-running skips what is done;\n" +
						"the same input gives the same graph hash, in this home or another.",
					Args: "[PATH...]", MinArgs: 0, MaxArgs: -1, Setup: e.leaf(eccAnalyze)},
				{Name: "status", Summary: "the tick (interval, budget use, wakes), impulse queue, graph and working set", Setup: e.leaf(eccStatus)},
			},
		}
	})
}

func eccLink(e *env, fs *flag.FlagSet) cmdline.Action {
	weight := fs.Float64("weight", 1, "the edge's weight (used by graph ranking)")
	validFrom := fs.String("valid-from", "", "when the relation starts to hold (RFC 3339; default now)")
	validTo := fs.String("valid-to", "", "when it stops holding (RFC 3339; default open)")
	return func(ctx context.Context, pos []string) error {
		req := apitype.EccEdgeRequest{From: pos[0], Type: pos[1], To: pos[2], Weight: float32(*weight)}
		if err := parseTimes(*validFrom, &req.ValidFrom, *validTo, &req.ValidTo); err != nil {
			return err
		}
		return e.withClient(func(c *client.Client) error {
			out, err := c.EccLink(ctx, req)
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, out)
			}
			if !out.Added {
				fmt.Fprintln(e.stdout, "the edge was already there")
				return nil
			}
			fmt.Fprintf(e.stdout, "linked (decision seq %d)\n", out.Seq)
			if len(out.Stale) > 0 {
				fmt.Fprintf(e.stdout, "%d derived artifacts are now stale:\n", len(out.Stale))
				for _, id := range out.Stale {
					fmt.Fprintf(e.stdout, "  %s\n", id)
				}
			}
			return nil
		})
	}
}

func eccWalk(impact bool) func(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(e *env, fs *flag.FlagSet) cmdline.Action {
		depth := fs.Int("depth", 3, "follow edges this many hops (1-10)")
		asOf := fs.String("as-of", "", "the world as of this valid time (RFC 3339)")
		known := fs.String("known-at", "", "the graph as recorded at this time (RFC 3339)")
		return func(ctx context.Context, pos []string) error {
			q := apitype.EccWalkQuery{Depth: *depth}
			if *depth < 1 || *depth > 10 {
				return cmdline.Usagef("--depth must be 1 to 10")
			}
			if err := parseTimes(*asOf, &q.Valid, *known, &q.Recorded); err != nil {
				return err
			}
			return e.withClient(func(c *client.Client) error {
				walk := c.EccWhy
				if impact {
					walk = c.EccImpact
				}
				out, err := walk(ctx, pos[0], q)
				if err != nil {
					return err
				}
				if e.json {
					return cmdline.PrintJSON(e.stdout, out)
				}
				printWalk(e, out, impact)
				return nil
			})
		}
	}
}

func nodeLabel(n apitype.EccNode) string {
	l := n.Key
	if l == "" {
		l = n.ID[:12]
	}
	if n.Type != "" {
		l += " (" + n.Type + ")"
	}
	switch {
	case n.Superseded:
		l += " [superseded]"
	case n.Stale:
		l += " [stale]"
	}
	return l
}

func printWalk(e *env, r apitype.EccWalkResponse, impact bool) {
	fmt.Fprintln(e.stdout, nodeLabel(r.Root))
	if len(r.Steps) == 0 {
		if impact {
			fmt.Fprintln(e.stdout, "  nothing depends on it")
		} else {
			fmt.Fprintln(e.stdout, "  no recorded evidence")
		}
		return
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "%s%s\t%s\tseq %d\n", strings.Repeat("  ", s.Depth), s.Type, nodeLabel(s.Node), s.Seq)
	}
	_ = tw.Flush()
}

func eccAnalyze(e *env, fs *flag.FlagSet) cmdline.Action {
	var sessions multiFlag
	fs.Var(&sessions, "session", "a session to analyse (its transcript); repeatable")
	tag := fs.String("tag", "", "comma-separated tags for every memory record")
	return func(ctx context.Context, pos []string) error {
		if len(pos) == 0 && len(sessions) == 0 {
			return cmdline.Usagef("analyze needs a PATH or --session NAME")
		}
		req := apitype.EccAnalyzeRequest{Sessions: sessions}
		paths, err := absPaths(pos)
		if err != nil {
			return err
		}
		req.Paths = paths
		if *tag != "" {
			req.Tags = strings.Split(*tag, ",")
		}
		bar := cmdline.NewProgress(e.stderr, !e.json && cmdline.IsTerminal(e.stderr))
		return e.withClient(func(c *client.Client) error {
			r, err := c.EccAnalyze(ctx, req, func(p apitype.EccAnalyzeProgress) {
				bar.Draw(p.DocsDone, p.DocsTotal, fmt.Sprintf("documents, %d chunks, %d edges", p.Chunks, p.Edges))
			})
			bar.End()
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, r)
			}
			fmt.Fprintf(e.stdout, "%d documents: %d analysed, %d unchanged, %d skipped; %d chunks (%d new records), %d entities\n",
				r.Documents, r.Analyzed, r.Unchanged, r.Skipped, r.Chunks, r.Created, r.Entities)
			fmt.Fprintf(e.stdout, "%d edges (%d new", r.Edges, r.Added)
			if r.Refused > 0 {
				fmt.Fprintf(e.stdout, ", %d refused as cycles", r.Refused)
			}
			fmt.Fprintf(e.stdout, ") in %d recorded acts\ngraph: %d nodes, %d edges, hash %s\n", r.Acts, r.GraphNodes, r.GraphEdges, r.GraphHash)
			for _, n := range r.Notes {
				fmt.Fprintf(e.stdout, "  note: %s\n", n)
			}
			return nil
		})
	}
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

func eccStatus(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			st, err := c.EccStatus(ctx)
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, st)
			}
			w := e.stdout
			fmt.Fprintf(w, "tick      every %v, batch %d, budget %v (calibrated: p50 %v, p95 %v per %d-impulse tick)\n",
				st.Interval, st.Batch, st.Budget, st.CalibrationP50, st.CalibrationP95, 64)
			fmt.Fprintf(w, "          %d ticks, last %v (%.0f%% of budget), %d overruns, %d wakes (%.2f/s), arrivals %.1f/s\n",
				st.Ticks, st.LastCompute, 100*st.BudgetUse, st.Overruns, st.Wakes, st.WakesPerSecond, st.ArrivalRate)
			q := st.Queue
			fmt.Fprintf(w, "impulses  %d/%d pending; %d emitted, %d rehearsed, %d processed, %d expired, %d evicted\n",
				q.Depth, q.Capacity, q.Emitted, q.Rehearsed, q.Processed, q.Expired, q.Evicted)
			g := st.Graph
			fmt.Fprintf(w, "graph     %d nodes, %d edges, %d stale, %d invalidations, %d cycles refused\n", g.Nodes, g.Edges, g.Stale, g.Invalidations, g.Refused)
			fmt.Fprintf(w, "          hash %s\n", g.Hash)
			fmt.Fprintf(w, "xref      %d nodes, %d links, through seq %d\n", st.Xref.Nodes, st.Xref.Links, st.Xref.Through)
			if len(st.Salient) > 0 {
				fmt.Fprintln(w, "salient:")
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				for _, s := range st.Salient {
					fmt.Fprintf(tw, "  %s\t%s\t%s\t%.3f\t×%d\n", s.Key, s.Source, s.Ref, s.Activation, s.Count)
				}
				_ = tw.Flush()
			}
			return nil
		})
	}
}

// parseTimes parses the RFC 3339 flag values of (value, destination)
// pairs; an empty value leaves its destination alone.
func parseTimes(s1 string, dst1 *time.Time, s2 string, dst2 *time.Time) error {
	for _, f := range []struct {
		s   string
		dst *time.Time
	}{{s1, dst1}, {s2, dst2}} {
		if f.s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, f.s)
		if err != nil {
			return cmdline.Usagef("%q is not an RFC 3339 time", f.s)
		}
		*f.dst = t
	}
	return nil
}
