package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/weftos/weftos/internal/cmdline"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{Name: "ui", Summary: "print a one-time login link for the control UI", Setup: e.leaf(cmdUI),
			Help: "The control UI is a web dashboard the daemon serves on loopback when [ui] listen is set in weftos.toml " +
				"(docs/UI.md). Open the link in a browser on this machine: it logs the browser in once (a session cookie) and " +
				"then stops working; run weave ui again for another browser."}
	})
}

func cmdUI(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		c, err := e.client()
		if err != nil {
			return err
		}
		defer c.Close()
		res, err := c.UILogin(ctx)
		if err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, res)
		}
		fmt.Fprintln(e.stdout, res.URL)
		fmt.Fprintf(e.stderr, "Open this link in a browser on this machine; it works once, until %s.\n", res.ExpiresAt.Local().Format(time.TimeOnly))
		return nil
	}
}
