package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/weftos/weftos/internal/cmdline"
)

func skillsList(e *env, fs *flag.FlagSet) cmdline.Action {
	workspace := fs.String("workspace", "", "workspace directory (default: the current directory)")
	return func(ctx context.Context, _ []string) error {
		ws, err := workspaceDir(*workspace)
		if err != nil {
			return err
		}
		c, closeFn, err := e.connect(ctx)
		if err != nil {
			return err
		}
		defer closeFn()
		out, err := c.Skills(ctx, ws)
		if err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, out)
		}
		rows := make([][]string, len(out.Skills))
		for i, s := range out.Skills {
			rows[i] = []string{s.Name, strings.Join(s.AllowedTools, ","), s.Description}
		}
		if err := cmdline.Table(e.stdout, []string{"NAME", "ALLOWED TOOLS", "DESCRIPTION"}, rows); err != nil {
			return err
		}
		for _, p := range out.Problems {
			fmt.Fprintln(e.stderr, "weft: skipped:", p)
		}
		return nil
	}
}

// workspaceDir is the --workspace flag's directory, made absolute (the
// daemon resolves it from another working directory): the current
// directory when the flag is empty.
func workspaceDir(flag string) (string, error) {
	if flag == "" {
		return os.Getwd()
	}
	return filepath.Abs(flag)
}

// absPath makes p absolute (the daemon wants absolute workspaces).
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
