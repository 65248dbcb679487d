package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/apitype"
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
		return cmdline.Reply(e.stdout, e.json, out, "removed session %s\n", out.Removed)
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

// sessionsExport writes a session: its journal as stored (the default; each
// record keeps its CRC-32C, so the copy can be checked) or a Markdown
// transcript for people.
func sessionsExport(e *env, fs *flag.FlagSet) cmdline.Action {
	format := fs.String("format", "journal", "journal (JSON Lines, as stored) or markdown")
	out := fs.String("o", "", "write to FILE instead of stdout")
	return func(ctx context.Context, pos []string) error {
		if *format != "journal" && *format != "markdown" {
			return cmdline.Usagef("--format must be journal or markdown, got %q", *format)
		}
		c, closeFn, err := e.connect(ctx)
		if err != nil {
			return err
		}
		defer closeFn()
		w := e.stdout
		var f *os.File
		if *out != "" {
			if f, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
				return err
			}
			w = f
		}
		if *format == "journal" {
			err = c.SessionJournal(ctx, pos[0], w)
		} else {
			var snap apitype.SessionSnapshot
			if snap, err = c.Session(ctx, pos[0]); err == nil {
				err = writeMarkdown(w, snap)
			}
		}
		if f != nil {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				_ = os.Remove(*out)
			}
		}
		return err
	}
}

// writeMarkdown renders a session's conversation as Markdown.
func writeMarkdown(w io.Writer, snap apitype.SessionSnapshot) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# Session %s\n\nCreated %s · %d steps · %s · %d input and %d output tokens\n",
		snap.Meta.Name, snap.Meta.Created.UTC().Format(time.RFC3339), len(snap.Steps), snap.State.Status,
		snap.State.Usage.InputTokens, snap.State.Usage.OutputTokens)
	fence := func(s string) string {
		f := "```"
		for strings.Contains(s, f) {
			f += "`"
		}
		return f
	}
	for _, st := range snap.Steps {
		var d struct {
			Content string          `json:"content"`
			Message session.Message `json:"message"`
			Name    string          `json:"name"`
			ID      string          `json:"id"`
			IsError bool            `json:"is_error"`
		}
		_ = json.Unmarshal(st.Data, &d)
		at := st.Time.UTC().Format("15:04:05")
		switch st.Type {
		case session.TypeUserMessage:
			fmt.Fprintf(bw, "\n## User · %s\n\n%s\n", at, d.Content)
		case session.TypeModelResponse:
			if d.Message.Content != "" && len(d.Message.ToolCalls) > 0 {
				fmt.Fprintf(bw, "\n## Assistant · %s\n\n%s\n", at, d.Message.Content)
			}
			for _, tc := range d.Message.ToolCalls {
				a := compactJSON(tc.Arguments)
				fmt.Fprintf(bw, "\n**Tool call** `%s` (%s)\n\n%sjson\n%s\n%s\n", tc.Name, tc.ID, fence(a), a, fence(a))
			}
		case session.TypeToolCallCompleted:
			label := "Result"
			if d.IsError {
				label = "Error"
			}
			fmt.Fprintf(bw, "\n**%s** of `%s` (%s)\n\n%s\n%s\n%s\n", label, d.Name, d.ID, fence(d.Content), d.Content, fence(d.Content))
		case session.TypeFinalAnswer:
			fmt.Fprintf(bw, "\n## Assistant · %s\n\n%s\n", at, d.Content)
		case session.TypeError:
			var e session.ErrorData
			_ = json.Unmarshal(st.Data, &e)
			fmt.Fprintf(bw, "\n> **Run failed** (%s): %s\n", e.Code, e.Message)
		case session.TypeReset:
			fmt.Fprintf(bw, "\n---\n\n*Conversation reset · %s*\n", at)
		}
	}
	return bw.Flush()
}

// sessionsFork starts session NEW as a copy of NAME (its first --at steps).
func sessionsFork(e *env, fs *flag.FlagSet) cmdline.Action {
	at := fs.Uint64("at", 0, "copy only the first N steps (0: all)")
	return func(ctx context.Context, pos []string) error {
		c, closeFn, err := e.connect(ctx)
		if err != nil {
			return err
		}
		defer closeFn()
		sum, err := c.SessionFork(ctx, pos[0], apitype.SessionForkRequest{To: pos[1], UpTo: *at})
		if err != nil {
			return err
		}
		return cmdline.Reply(e.stdout, e.json, sum, "forked %s into %s: %d steps, %s (continue it with: weft agent --session %s)\n", pos[0], sum.Name, sum.Steps, sum.Status, sum.Name)
	}
}
