package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/logfile"
	"github.com/weftos/weftos/internal/redact"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{Name: "logs", Summary: "print the daemon's log (-f: keep following it)", Setup: e.leaf(cmdLogs),
			Help: "The daemon writes its log to HOME/" + homedir.Log + ", rotated at [log] file_max_mib into " + homedir.Log +
				".1 … (file_keep files kept). With a daemon running the lines come through its API; without one they are read from the files. " +
				"Secrets (API keys, tokens, passwords) are masked."}
	})
}

func cmdLogs(e *env, fs *flag.FlagSet) cmdline.Action {
	follow := fs.Bool("f", false, "keep printing new lines until the daemon shuts down (needs a running daemon)")
	n := cmdline.Count(fs, "n", 50, "how many recent lines")
	return func(ctx context.Context, _ []string) error {
		if *n > logfile.MaxTail {
			return cmdline.Usagef("-n %d is above %d", *n, logfile.MaxTail)
		}
		c, err := e.client()
		if err != nil {
			return err
		}
		defer c.Close()
		if *follow {
			return followLogs(ctx, e, c, *n)
		}
		res, err := c.Logs(ctx, *n)
		if errors.Is(err, client.ErrNoDaemon) {
			res, err = offlineLogs(e.home, *n)
		}
		if err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, res)
		}
		for _, l := range res.Lines {
			fmt.Fprintln(e.stdout, l)
		}
		return nil
	}
}

// offlineLogs reads the log files of a home whose daemon is not running.
func offlineLogs(home string, n int) (apitype.LogsResponse, error) {
	path := filepath.Join(home, homedir.Log)
	lines, err := logfile.Tail(path, n)
	if err != nil {
		return apitype.LogsResponse{}, err
	}
	for i, l := range lines {
		lines[i] = redact.String(l)
	}
	if lines == nil {
		lines = []string{}
	}
	return apitype.LogsResponse{Path: path, Lines: lines}, nil
}

// followLogs prints the last n lines and every new one until ctx ends
// (Ctrl-C) or the daemon shuts down, both a clean end.
func followLogs(ctx context.Context, e *env, c *client.Client, n int) error {
	err := c.FollowLogs(ctx, n, func(l apitype.LogLine) error {
		if e.json {
			b, err := json.Marshal(l)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(e.stdout, string(b))
			return err
		}
		if l.SkippedBytes > 0 {
			fmt.Fprintf(e.stderr, "weave: %d bytes of log not shown (this reader fell behind); they are in %s\n", l.SkippedBytes, filepath.Join(e.home, homedir.Log))
			return nil
		}
		_, err := fmt.Fprintln(e.stdout, l.Line)
		return err
	})
	switch {
	case errors.Is(err, client.ErrNoDaemon):
		return errors.New("logs -f needs a running daemon (start one with `weave boot`); without -f, weave logs reads " + filepath.Join(e.home, homedir.Log))
	case errors.Is(err, context.Canceled):
		return nil
	case err == nil && !e.json:
		fmt.Fprintln(e.stderr, "weave: the daemon shut down")
	}
	return err
}
