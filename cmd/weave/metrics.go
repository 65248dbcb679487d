package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{Name: "metrics", Summary: "print the daemon's metrics (Prometheus text format, as /metrics serves them)", Setup: e.leaf(cmdMetrics)}
	})
}

func cmdMetrics(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			text, err := c.Metrics(ctx)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(e.stdout, text)
			return err
		})
	}
}
