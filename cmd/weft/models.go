package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
)

// cmdModels lists the models of every provider (or of one). A provider
// that cannot answer is reported on stderr and does not hide the others;
// the command fails only when no provider answered.
func cmdModels(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		c, closeFn, err := e.connect(ctx)
		if err != nil {
			return err
		}
		defer closeFn()
		provider := ""
		if len(pos) == 1 {
			provider = pos[0]
		}
		out, err := c.Models(ctx, provider)
		if err != nil {
			var ae *client.APIError
			if errors.As(err, &ae) && errors.Is(err, apitype.ErrNoProvider) {
				return &exitError{code: cmdline.ExitUsage, msg: ae.Message + e.daemonHint()}
			}
			return err
		}
		if e.json {
			if err := cmdline.PrintJSON(e.stdout, out); err != nil {
				return err
			}
		} else {
			rows := make([][]string, len(out.Models))
			for i, m := range out.Models {
				def := ""
				if m.Default {
					def = "default"
				}
				rows[i] = []string{m.Provider + "/" + m.ID, m.OwnedBy, def}
			}
			if err := cmdline.Table(e.stdout, []string{"MODEL", "OWNED BY", ""}, rows); err != nil {
				return err
			}
			for _, p := range out.Problems {
				fmt.Fprintf(e.stderr, "weft: provider %s: %s\n", p.Provider, cmdline.OneLine(p.Message))
			}
		}
		if len(out.Models) == 0 && len(out.Problems) > 0 {
			return fmt.Errorf("no provider could list its models")
		}
		return nil
	}
}
