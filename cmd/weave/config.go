package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/config"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{Name: "config", Summary: "show the configuration: weave config show", Subs: []*cmdline.Command{
			{Name: "show", Summary: "the running daemon's configuration, or with none the home's weftos.toml (validated, defaults filled in)", Setup: e.leaf(configShow)},
		}}
	})
}

// configShow shows the running daemon's configuration, or, with no
// daemon, the configuration file in the home (validated, defaults filled
// in).
func configShow(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		c, err := e.client()
		if err != nil {
			return err
		}
		defer c.Close()
		resp, err := c.Config(ctx)
		var cfg any
		switch {
		case err == nil:
			if err := json.Unmarshal(resp.Config, &cfg); err != nil {
				return err
			}
		case errors.Is(err, client.ErrNoDaemon):
			path := filepath.Join(e.home, config.FileName)
			data, rerr := os.ReadFile(path)
			if rerr != nil {
				return fmt.Errorf("no daemon is running and %w", rerr)
			}
			parsed, perr := config.Parse(path, data)
			if perr != nil {
				return perr
			}
			resp.Path, cfg = path, parsed
		default:
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, map[string]any{"path": resp.Path, "config": cfg})
		}
		fmt.Fprintf(e.stdout, "# %s\n", resp.Path)
		return cmdline.PrintJSON(e.stdout, cfg)
	}
}
