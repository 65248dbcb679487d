package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/daemon"
)

func toolsInstall(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		return e.withKernel(ctx, func(c *client.Client) error {
			var it daemon.InstalledTool
			if err := c.Do(ctx, http.MethodPost, "/v1/tools", daemon.ToolInstallRequest{Path: absPath(pos[0])}, &it); err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, it)
			}
			fmt.Fprintf(e.stdout, "installed %s %s (sha256 %s…)\n", it.Name, it.Version, it.SHA256[:16])
			return nil
		})
	}
}

func toolsList(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withKernel(ctx, func(c *client.Client) error {
			var list []daemon.InstalledTool
			if err := c.Do(ctx, http.MethodGet, "/v1/tools", nil, &list); err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, list)
			}
			rows := make([][]string, len(list))
			for i, t := range list {
				rows[i] = []string{t.Name, t.Version, fmt.Sprintf("%d MiB, %d fuel, %d ms", t.Limits.MemoryMiB, t.Limits.Fuel, t.Limits.TimeoutMS), strings.Join(t.Hosts, ","), t.Description}
			}
			return cmdline.Table(e.stdout, []string{"NAME", "VERSION", "LIMITS", "HOSTS", "DESCRIPTION"}, rows)
		})
	}
}

func toolsInspect(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		return e.withKernel(ctx, func(c *client.Client) error {
			var it daemon.InstalledTool
			if err := c.Do(ctx, http.MethodGet, "/v1/tools/"+url.PathEscape(pos[0]), nil, &it); err != nil {
				return err
			}
			return cmdline.PrintJSON(e.stdout, it)
		})
	}
}

func toolsRun(e *env, fs *flag.FlagSet) cmdline.Action {
	input := fs.String("input", "{}", "the tool's JSON input")
	return func(ctx context.Context, pos []string) error {
		if !json.Valid([]byte(*input)) {
			return cmdline.Usagef("--input is not valid JSON")
		}
		return e.withKernel(ctx, func(c *client.Client) error {
			var res daemon.ToolRunResult
			if err := c.Do(ctx, http.MethodPost, "/v1/tools/"+url.PathEscape(pos[0])+"/run", daemon.ToolRunRequest{Input: json.RawMessage(*input)}, &res); err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, res)
			}
			fmt.Fprintln(e.stdout, string(res.Output))
			fmt.Fprintf(e.stderr, "weft: fuel used %d, %d ms\n", res.FuelUsed, res.Millis)
			return nil
		})
	}
}

func toolsRemove(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		return e.withKernel(ctx, func(c *client.Client) error {
			if err := c.Do(ctx, http.MethodDelete, "/v1/tools/"+url.PathEscape(pos[0]), nil, nil); err != nil {
				return err
			}
			if !e.json {
				fmt.Fprintf(e.stdout, "removed %s\n", pos[0])
			}
			return nil
		})
	}
}
