package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
)

func toolsInstall(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		return e.withKernel(ctx, func(c *client.Client) error {
			it, err := c.ToolInstall(ctx, absPath(pos[0]))
			if err != nil {
				return err
			}
			return cmdline.Reply(e.stdout, e.json, it, "installed %s %s (sha256 %s…)\n", it.Name, it.Version, it.SHA256[:16])
		})
	}
}

func toolsList(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withKernel(ctx, func(c *client.Client) error {
			list, err := c.Tools(ctx)
			if err != nil {
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
			it, err := c.Tool(ctx, pos[0])
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, it)
			}
			return printTool(e, it)
		})
	}
}

func toolsRun(e *env, fs *flag.FlagSet) cmdline.Action {
	input := fs.String("input", "{}", "the tool's JSON input")
	stats := fs.Bool("stats", false, "print the fuel used and the run's duration on stderr")
	return func(ctx context.Context, pos []string) error {
		if !json.Valid([]byte(*input)) {
			return cmdline.Usagef("--input is not valid JSON")
		}
		return e.withKernel(ctx, func(c *client.Client) error {
			res, err := c.ToolRun(ctx, pos[0], apitype.ToolRunRequest{Input: json.RawMessage(*input)})
			if err != nil {
				// What the tool said about its failure comes first, as
				// the tool wrote it; the error line follows.
				var ae *client.APIError
				if errors.As(err, &ae) && ae.Tool != nil {
					if s := strings.TrimRight(ae.Tool.Stderr, "\n"); s != "" {
						fmt.Fprintf(e.stderr, "%s: stderr:\n%s\n", pos[0], s)
					}
					return fmt.Errorf("%w (fuel used %d, %d ms)", err, ae.Tool.FuelUsed, ae.Tool.Millis)
				}
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, res)
			}
			fmt.Fprintln(e.stdout, string(res.Output))
			if *stats {
				fmt.Fprintf(e.stderr, "fuel used %d, %d ms\n", res.FuelUsed, res.Millis)
			}
			return nil
		})
	}
}

func toolsRemove(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		return e.withKernel(ctx, func(c *client.Client) error {
			out, err := c.ToolRemove(ctx, pos[0])
			if err != nil {
				return err
			}
			return cmdline.Reply(e.stdout, e.json, out, "removed %s\n", out.Removed)
		})
	}
}

// printTool renders an installed tool for people.
func printTool(e *env, it apitype.InstalledTool) error {
	w := e.stdout
	fmt.Fprintf(w, "name:         %s %s\n", it.Name, it.Version)
	if it.Description != "" {
		fmt.Fprintf(w, "description:  %s\n", it.Description)
	}
	fmt.Fprintf(w, "module:       sha256 %s\n", it.SHA256)
	fmt.Fprintf(w, "limits:       %d MiB memory, %d fuel, %d ms\n", it.Limits.MemoryMiB, it.Limits.Fuel, it.Limits.TimeoutMS)
	grants := []string{}
	for _, h := range it.Hosts {
		grants = append(grants, "host "+h)
	}
	for _, m := range it.Mounts {
		mode := "read-write"
		if m.ReadOnly {
			mode = "read-only"
		}
		grants = append(grants, fmt.Sprintf("mount %s at %s (%s)", m.HostPath, m.GuestPath, mode))
	}
	for _, v := range it.Env {
		grants = append(grants, "env "+v)
	}
	if len(grants) == 0 {
		grants = []string{"none"}
	}
	fmt.Fprintf(w, "grants:       %s\n", strings.Join(grants, "; "))
	fmt.Fprintf(w, "imports:      %s\n", strings.Join(it.Imports, ", "))
	fmt.Fprintf(w, "installed:    %s from %s (chain event %d, action %s)\n", it.Installed.UTC().Format(time.RFC3339), it.Source, it.InstallSeq, it.ActionID)
	fmt.Fprintf(w, "input schema: %s\n", compactJSON(it.InputSchema))
	return nil
}
