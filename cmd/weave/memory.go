package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/weftos/weftos/internal/annbench"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/daemon"
	"github.com/weftos/weftos/internal/memory"
)

func init() {
	register(command{"memory", "semantic memory: ingest, search, stats, rm, reembed; bench and gen (ANN benchmark)", cmdMemory})
}

func cmdMemory(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return cmdline.Usagef("memory: want ingest, search, stats, rm, reembed, bench or gen")
	}
	switch args[0] {
	case "bench":
		// weave memory bench --base B.fvecs --query Q.fvecs [--gt G.ivecs] --k 10
		//   --ef 10,20,40,80,160 [--m 16 --efc 200] [--json]
		return annbench.Command(ctx, args[1:], e.stdout, e.stderr)
	case "gen":
		// weave memory gen --out DIR [--n 100000 --queries 1000 --dim 128 --clusters 1000 --seed 1]
		return annbench.Command(ctx, args, e.stdout, e.stderr)
	case "ingest":
		return memoryIngest(ctx, e, args[1:])
	case "search":
		return memorySearch(ctx, e, args[1:])
	case "stats":
		return memorySimple(ctx, e, "stats", args[1:], 0, http.MethodGet, "/v1/memory/stats")
	case "rm":
		return memorySimple(ctx, e, "rm", args[1:], 1, http.MethodDelete, "/v1/memory/")
	case "reembed":
		return memorySimple(ctx, e, "reembed", args[1:], 0, http.MethodPost, "/v1/memory/reembed")
	}
	return cmdline.Usagef("memory: unknown subcommand %q", args[0])
}

// memoryIngest ingests files and folders with a progress bar on stderr.
func memoryIngest(ctx context.Context, e *env, args []string) error {
	fs := e.flags("memory ingest", "PATH... [--tag T]")
	tag := fs.String("tag", "", "comma-separated tags for every chunk")
	pos, err := cmdline.Parse(fs, args, 1, -1)
	if err != nil {
		return err
	}
	req := daemon.MemoryIngestRequest{}
	for _, p := range pos {
		a, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		req.Paths = append(req.Paths, a)
	}
	if *tag != "" {
		req.Tags = strings.Split(*tag, ",")
	}
	return e.withClient(func(c *client.Client) error {
		var final *daemon.MemoryIngestEvent
		err = c.StreamRequest(ctx, http.MethodPost, "/v1/memory/ingest", req, func(line []byte) error {
			var ev daemon.MemoryIngestEvent
			if err := json.Unmarshal(line, &ev); err != nil {
				return err
			}
			switch ev.Type {
			case "progress":
				p := ev.Progress
				if !e.json && p.FilesTotal > 0 {
					const width = 30
					n := width * p.FilesDone / p.FilesTotal
					fmt.Fprintf(e.stderr, "\r[%s%s] %d/%d files, %d chunks", strings.Repeat("#", n), strings.Repeat(".", width-n), p.FilesDone, p.FilesTotal, p.Chunks)
				}
			default:
				final = &ev
			}
			return nil
		})
		if !e.json {
			fmt.Fprintln(e.stderr)
		}
		if err != nil {
			return err
		}
		if final == nil {
			return fmt.Errorf("the daemon ended the ingest without a result")
		}
		if final.Type == "error" {
			return fmt.Errorf("%s", final.Message)
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, final.Result)
		}
		r := final.Result
		fmt.Fprintf(e.stdout, "%d files: %d ingested, %d unchanged, %d skipped; %d chunks (%d new)\n", r.Files, r.Ingested, r.Unchanged, r.Skipped, r.Chunks, r.Created)
		return nil
	})
}

func memorySearch(ctx context.Context, e *env, args []string) error {
	fs := e.flags("memory search", `"query" [-k 10] [--filter key=value]...`)
	k := fs.Int("k", 10, "number of results")
	var filters multiFlag
	fs.Var(&filters, "filter", "key=value (agent, session, source, tag, scope); repeatable")
	pos, err := cmdline.Parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	req := daemon.MemorySearchRequest{Query: pos[0], K: *k, Filter: map[string]string{}}
	for _, f := range filters {
		key, v, ok := strings.Cut(f, "=")
		if !ok {
			return cmdline.Usagef("--filter %q: want key=value", f)
		}
		req.Filter[key] = v
	}
	return e.withClient(func(c *client.Client) error {
		var hits []memory.Hit
		if err := c.Do(ctx, http.MethodPost, "/v1/memory/search", req, &hits); err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, hits)
		}
		for _, h := range hits {
			text := strings.Join(strings.Fields(h.Record.Text), " ")
			if len(text) > 120 {
				text = text[:120] + "…"
			}
			fmt.Fprintf(e.stdout, "%.3f  %s  %s  %s\n", h.Score, h.Record.ID[:12], h.Record.Meta.Source, text)
		}
		return nil
	})
}

func memorySimple(ctx context.Context, e *env, name string, args []string, nargs int, method, path string) error {
	usage := ""
	if nargs == 1 {
		usage = "ID"
	}
	fs := e.flags("memory "+name, usage)
	pos, err := cmdline.Parse(fs, args, nargs, nargs)
	if err != nil {
		return err
	}
	if nargs == 1 {
		path += url.PathEscape(pos[0])
	}
	return e.withClient(func(c *client.Client) error {
		var out map[string]any
		if err := c.Do(ctx, method, path, nil, &out); err != nil {
			return err
		}
		return cmdline.PrintJSON(e.stdout, out)
	})
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
