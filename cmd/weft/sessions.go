package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/session"
)

func sessionsList(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		c, closeFn, err := e.connect(ctx)
		if err != nil {
			return err
		}
		defer closeFn()
		out, err := c.Sessions(ctx)
		if err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, out)
		}
		rows := make([][]string, len(out.Sessions))
		for i, s := range out.Sessions {
			rows[i] = []string{s.Name, string(s.Status), fmt.Sprint(s.Steps), s.Updated.Local().Format(time.DateTime), s.Created.Local().Format(time.DateTime)}
		}
		if err := cmdline.Table(e.stdout, []string{"NAME", "STATUS", "STEPS", "UPDATED", "CREATED"}, rows); err != nil {
			return err
		}
		for _, p := range out.Problems {
			fmt.Fprintln(e.stderr, "weft: unreadable session:", p)
		}
		return nil
	}
}

func sessionsShow(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		c, closeFn, err := e.connect(ctx)
		if err != nil {
			return err
		}
		defer closeFn()
		snap, err := c.Session(ctx, pos[0])
		if err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, snap)
		}
		fmt.Fprintf(e.stdout, "session %s: %s, %d steps, %d+%d tokens\n", snap.Meta.Name, snap.State.Status, len(snap.Steps), snap.State.Usage.InputTokens, snap.State.Usage.OutputTokens)
		for _, m := range snap.State.Messages {
			switch {
			case len(m.ToolCalls) > 0:
				for _, tc := range m.ToolCalls {
					fmt.Fprintf(e.stdout, "%-9s → %s %s\n", m.Role, tc.Name, compactJSON(tc.Arguments))
				}
			case m.Role == session.RoleTool:
				fmt.Fprintf(e.stdout, "%-9s ← %s\n", m.Role, firstLine(m.Content, 120))
			default:
				fmt.Fprintf(e.stdout, "%-9s %s\n", m.Role, m.Content)
			}
		}
		return nil
	}
}

func sessionsRm(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		c, closeFn, err := e.connect(ctx)
		if err != nil {
			return err
		}
		defer closeFn()
		out, err := c.SessionRemove(ctx, pos[0])
		if err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, out)
		}
		fmt.Fprintf(e.stdout, "removed session %s\n", out.Removed)
		return nil
	}
}

func compactJSON(b json.RawMessage) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func firstLine(s string, n int) string {
	for i, r := range s {
		if r == '\n' || i >= n {
			return s[:i] + "…"
		}
	}
	return s
}
