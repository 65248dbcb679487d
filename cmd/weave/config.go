package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/weftos/weftos/internal/cmdline"
	"os"
	"path/filepath"

	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/config"
)

func init() {
	register(command{"config", "show the configuration: weave config show", cmdConfig})
}

// cmdConfig shows the running daemon's configuration, or, with no daemon,
// the configuration file in the home (validated, defaults filled in).
func cmdConfig(ctx context.Context, e *env, args []string) error {
	fs := e.flags("config", "show")
	pos, err := cmdline.Parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if pos[0] != "show" {
		return cmdline.Usagef("config: unknown subcommand %q (want show)", pos[0])
	}
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
