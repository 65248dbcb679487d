package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/daemon"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func init() {
	register(command{"status", "version, node id, uptime, health and counts", cmdStatus})
	register(command{"shutdown", "stop the running daemon cleanly", cmdShutdown})
}

func cmdStatus(ctx context.Context, e *env, args []string) error {
	fs := e.flags("status", "")
	if _, err := cmdline.Parse(fs, args, 0, 0); err != nil {
		return err
	}
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

func cmdShutdown(ctx context.Context, e *env, args []string) error {
	fs := e.flags("shutdown", "")
	if _, err := cmdline.Parse(fs, args, 0, 0); err != nil {
		return err
	}
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
