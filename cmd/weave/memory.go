package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/clip"
	"github.com/weftos/weftos/internal/cmdline"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{
			Name:    "memory",
			Summary: "semantic memory: ingest, search, stats, rm, reembed; bench and gen (ANN benchmark)",
			Subs: []*cmdline.Command{
				{Name: "ingest", Summary: "chunk, embed and store files and folders (resumable)", Args: "PATH...", MinArgs: 1, MaxArgs: -1, Setup: e.leaf(memoryIngest)},
				{Name: "search", Summary: "the records that best match a query (BM25, vectors, neighbouring turns, graph walk; --explain)", Args: `"QUERY"`, MinArgs: 1, MaxArgs: 1, Setup: e.leaf(memorySearch)},
				{Name: "stats", Summary: "record, index and embedder statistics", Setup: e.leaf(memoryStats)},
				{Name: "rm", Summary: "remove a record", Args: "ID", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(memoryRemove)},
				{Name: "reembed", Summary: "re-embed every record with the configured embedder", Setup: e.leaf(memoryReembed)},
				{Name: "bench", Summary: "ANN benchmark: recall and QPS of the HNSW index on a TEXMEX set", Setup: e.leaf(memoryAnnbench("bench"))},
				{Name: "gen", Summary: "write a synthetic clustered TEXMEX set for bench", Setup: e.leaf(memoryAnnbench("gen"))},
			},
		}
	})
}

// absPaths makes the command line's paths absolute: the daemon resolves
// them, from another working directory.
func absPaths(pos []string) ([]string, error) {
	var out []string // nil for none, as before
	for _, p := range pos {
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// memoryIngest ingests files and folders, with a progress bar on stderr
// when stderr is a terminal.
func memoryIngest(e *env, fs *flag.FlagSet) cmdline.Action {
	tag := fs.String("tag", "", "comma-separated tags for every chunk")
	return func(ctx context.Context, pos []string) error {
		req := apitype.MemoryIngestRequest{}
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
			final, err := c.MemoryIngest(ctx, req, func(ev apitype.MemoryIngestEvent) {
				if p := ev.Progress; p != nil {
					bar.Draw(p.FilesDone, p.FilesTotal, fmt.Sprintf("files, %d chunks", p.Chunks))
				}
			})
			bar.End()
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, final.Result)
			}
			r := final.Result
			fmt.Fprintf(e.stdout, "%d files: %d ingested, %d unchanged, %d skipped; %d chunks (%d new)\n", r.Files, r.Ingested, r.Unchanged, r.Skipped, r.Chunks, r.Created)
			return nil
		})
	}
}

func memorySearch(e *env, fs *flag.FlagSet) cmdline.Action {
	k := cmdline.Count(fs, "k", 10, "number of results")
	var filters, weights multiFlag
	fs.Var(&filters, "filter", "key=value (agent, session, source, tag, scope); repeatable")
	only := fs.String("only", "", "comma-separated retrieval components to use alone (bm25, vector, neighbor, session, recency, graph)")
	without := fs.String("without", "", "comma-separated retrieval components to switch off")
	fs.Var(&weights, "weight", "component=weight, e.g. neighbor=0.3 (0 switches it off); repeatable")
	fusion := fs.String("fusion", "", `how the components are combined: "sum" of normalised scores (default) or "rrf" (reciprocal rank fusion)`)
	explain := fs.Bool("explain", false, "show each component's rank, score and contribution for every hit")
	return func(ctx context.Context, pos []string) error {
		req := apitype.MemorySearchRequest{Query: pos[0], K: *k, Filter: map[string]string{}, Fusion: *fusion, Explain: *explain,
			Only: splitList([]string{*only}), Without: splitList([]string{*without})}
		for _, f := range filters {
			key, v, ok := strings.Cut(f, "=")
			if !ok {
				return cmdline.Usagef("--filter %q: want key=value", f)
			}
			req.Filter[key] = v
		}
		for _, f := range weights {
			key, v, ok := strings.Cut(f, "=")
			x, err := strconv.ParseFloat(v, 64)
			if !ok || err != nil || x < 0 {
				return cmdline.Usagef("--weight %q: want component=number ≥ 0", f)
			}
			if req.Weights == nil {
				req.Weights = map[string]float64{}
			}
			req.Weights[key] = x
		}
		return e.withClient(func(c *client.Client) error {
			hits, err := c.MemorySearch(ctx, req)
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, hits)
			}
			if len(hits) == 0 {
				fmt.Fprintln(e.stderr, "no matches")
			}
			for _, h := range hits {
				text := strings.Join(strings.Fields(h.Record.Text), " ")
				text = clip.Ellipsis(text, 120)
				fmt.Fprintf(e.stdout, "%.3f  %s  %s  %s\n", h.Score, h.Record.ID[:12], h.Record.Meta.Source, text)
				for _, c := range h.Explain {
					if c.Rank == 0 {
						fmt.Fprintf(e.stdout, "       %-9s  —\n", c.Component)
						continue
					}
					fmt.Fprintf(e.stdout, "       %-9s  #%-3d score %-8.4g × weight %-5.3g → %.3f\n", c.Component, c.Rank, c.Score, c.Weight, c.Fused)
				}
			}
			return nil
		})
	}
}

func memoryStats(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			st, err := c.MemoryStats(ctx)
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, st)
			}
			where := "on disk"
			if !st.Persistent {
				where = "in memory only"
			}
			fmt.Fprintf(e.stdout, "records:     %d (%s)\nfiles:       %d ingested\nembedder:    %s, %d dimensions\nindex:       %d vectors, %d tombstones (%s at boot)\nlexical:     %d terms (%s at boot)\ngeneration:  %d\n",
				st.Records, where, st.Files, st.Embedder, st.Dim, st.Indexed, st.Tombstones, st.IndexSource, st.LexTerms, st.LexSource, st.Generation)
			return nil
		})
	}
}

func memoryRemove(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		return e.withClient(func(c *client.Client) error {
			out, err := c.MemoryRemove(ctx, pos[0])
			if err != nil {
				return err
			}
			return cmdline.Reply(e.stdout, e.json, out, "removed %s\n", out.Removed)
		})
	}
}

func memoryReembed(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			out, err := c.MemoryReembed(ctx)
			if err != nil {
				return err
			}
			return cmdline.Reply(e.stdout, e.json, out, "re-embedded %d records with %s\n", out.Records, out.Embedder)
		})
	}
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
