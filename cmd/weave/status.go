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
	"github.com/weftos/weftos/internal/daemon"
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
			pidFile := filepath.Join(e.home, daemon.PIDName)
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				if _, err := os.Stat(pidFile); errors.Is(err, os.ErrNotExist) {
					if e.json {
						return cmdline.PrintJSON(e.stdout, map[string]any{"stopped": true, "pid": st.OSPID})
					}
					fmt.Fprintf(e.stdout, "weave stopped (pid %d)\n", st.OSPID)
					return nil
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
