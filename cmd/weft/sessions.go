package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
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
		var out struct {
			Sessions []session.Summary `json:"sessions"`
			Problems []string          `json:"problems"`
		}
		if err := c.Do(ctx, http.MethodGet, "/v1/sessions", nil, &out); err != nil {
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
		var snap session.Snapshot
		if err := c.Do(ctx, http.MethodGet, "/v1/sessions/"+url.PathEscape(pos[0]), nil, &snap); err != nil {
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
		if err := c.Do(ctx, http.MethodDelete, "/v1/sessions/"+url.PathEscape(pos[0]), nil, nil); err != nil {
			return err
		}
		if !e.json {
			fmt.Fprintf(e.stdout, "removed session %s\n", pos[0])
		}
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
