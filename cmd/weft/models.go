package main

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"net/url"

	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/llm"
)

func cmdModels(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		c, closeFn, err := e.connect(ctx)
		if err != nil {
			return err
		}
		defer closeFn()
		path := "/v1/models"
		if len(pos) == 1 {
			path += "?provider=" + url.QueryEscape(pos[0])
		}
		var models []llm.Model
		if err := c.Do(ctx, http.MethodGet, path, nil, &models); err != nil {
			var ae *client.APIError
			if errors.As(err, &ae) && ae.Code == "no_provider" {
				return &exitError{code: cmdline.ExitUsage, msg: ae.Message + e.daemonHint()}
			}
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, models)
		}
		rows := make([][]string, len(models))
		for i, m := range models {
			rows[i] = []string{m.Provider + "/" + m.ID, m.OwnedBy}
		}
		return cmdline.Table(e.stdout, []string{"MODEL", "OWNED BY"}, rows)
	}
}
