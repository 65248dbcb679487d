package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/daemon"
)

func cmdTools(ctx context.Context, e *env, args []string) error {
	fs := e.flags("tools", "install PATH | list | inspect NAME | run NAME --input JSON | remove NAME")
	input := fs.String("input", "{}", "run: the tool's JSON input")
	pos, err := cmdline.Parse(fs, args, 1, 2)
	if err != nil {
		return err
	}
	sub := pos[0]
	need := map[string]int{"install": 2, "list": 1, "inspect": 2, "run": 2, "remove": 2, "rm": 2}
	if n, ok := need[sub]; !ok || n != len(pos) {
		return cmdline.Usagef("tools: want install PATH, list, inspect NAME, run NAME --input JSON or remove NAME")
	}
	c, closeFn, err := e.connect(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	switch sub {
	case "install":
		var it daemon.InstalledTool
		if err := c.Do(ctx, http.MethodPost, "/v1/tools", daemon.ToolInstallRequest{Path: absPath(pos[1])}, &it); err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, it)
		}
		fmt.Fprintf(e.stdout, "installed %s %s (sha256 %s…)\n", it.Name, it.Version, it.SHA256[:16])
	case "list":
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
	case "inspect":
		var it daemon.InstalledTool
		if err := c.Do(ctx, http.MethodGet, "/v1/tools/"+url.PathEscape(pos[1]), nil, &it); err != nil {
			return err
		}
		return cmdline.PrintJSON(e.stdout, it)
	case "run":
		if !json.Valid([]byte(*input)) {
			return cmdline.Usagef("--input is not valid JSON")
		}
		var res daemon.ToolRunResult
		if err := c.Do(ctx, http.MethodPost, "/v1/tools/"+url.PathEscape(pos[1])+"/run", daemon.ToolRunRequest{Input: json.RawMessage(*input)}, &res); err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, res)
		}
		fmt.Fprintln(e.stdout, string(res.Output))
		fmt.Fprintf(e.stderr, "weft: fuel used %d, %d ms\n", res.FuelUsed, res.Millis)
	case "remove", "rm":
		if err := c.Do(ctx, http.MethodDelete, "/v1/tools/"+url.PathEscape(pos[1]), nil, nil); err != nil {
			return err
		}
		if !e.json {
			fmt.Fprintf(e.stdout, "removed %s\n", pos[1])
		}
	}
	return nil
}
