package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/homedir"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{Name: "status", Summary: "version, node id, uptime, health and counts", Setup: e.leaf(cmdStatus)}
	})
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{Name: "shutdown", Summary: "stop the running daemon cleanly", Setup: e.leaf(cmdShutdown)}
	})
}

func cmdStatus(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			st, err := c.Status(ctx)
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, st)
			}
			health := string(st.Health.Status)
			if len(st.Health.Degraded) > 0 {
				health += " (" + strings.Join(st.Health.Degraded, ", ") + ")"
			}
			fmt.Fprintf(e.stdout, "version:      %s\nnode:         %s\nhome:         %s\npid:          %d\nuptime:       %s\nhealth:       %s\nenvironment:  %s\nprocesses:    %d\nservices:     %d\ncron jobs:    %d\ndead letters: %d\n",
				st.Version, st.NodeID, st.Home, st.OSPID, st.Uptime.Duration().Round(time.Second), health, st.Environment, st.Processes, st.Services, st.CronJobs, st.DeadLetters)
			if st.ChainLength > 0 {
				fmt.Fprintf(e.stdout, "chain events: %d\n", st.ChainLength)
			}
			for _, p := range st.Providers {
				where := "remote"
				if p.Local {
					where = "local"
				}
				fmt.Fprintf(e.stdout, "provider:     %s (%s, %s, %s)\n", p.Name, p.Kind, p.BaseURL, where)
			}
			switch {
			case len(st.Providers) == 0:
				fmt.Fprintf(e.stdout, "provider:     none (set OPENAI_API_KEY, OPENAI_BASE_URL or ANTHROPIC_API_KEY, or add [[providers]] to weftos.toml)\n")
			case st.Model != "":
				fmt.Fprintf(e.stdout, "model:        %s\n", st.Model)
			case len(st.Providers) == 1:
				fmt.Fprintf(e.stdout, "model:        the provider's only model (chosen at the first run)\n")
			default:
				fmt.Fprintf(e.stdout, "model:        none set: runs name one (--model provider/model) or set agents.model\n")
			}
			for _, p := range st.Problems {
				fmt.Fprintf(e.stdout, "problem:      %s\n", p)
			}
			return nil
		})
	}
}

func cmdShutdown(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			st, err := c.Status(ctx)
			if err != nil {
				return err
			}
			if err := c.Shutdown(ctx); err != nil {
				return err
			}
			// Wait until the daemon has finished shutting down: it removes its pid
			// file last, after the final checkpoint and before releasing the lock.
			pidFile := filepath.Join(e.home, homedir.PID)
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				if _, err := os.Stat(pidFile); errors.Is(err, os.ErrNotExist) {
					return cmdline.Reply(e.stdout, e.json, map[string]any{"stopped": true, "pid": st.OSPID}, "weave stopped (pid %d)\n", st.OSPID)
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(20 * time.Millisecond):
				}
			}
			return fmt.Errorf("daemon (pid %d) did not stop within 30s", st.OSPID)
		})
	}
}
