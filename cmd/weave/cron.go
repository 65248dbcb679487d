package main

import (
	"context"
	"fmt"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"time"

	"github.com/weftos/weftos/internal/apitype"
)

func init() {
	register(command{"cron", "add, list or remove scheduled IPC messages", cmdCron})
}

func cmdCron(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return cmdline.Usagef("cron: want add, list or remove")
	}
	switch sub := args[0]; sub {
	case "add":
		return cronAdd(ctx, e, args[1:])
	case "list":
		return cronList(ctx, e, args[1:])
	case "remove", "rm":
		return cronRemove(ctx, e, args[1:])
	default:
		return cmdline.Usagef("cron: unknown subcommand %q (want add, list or remove)", sub)
	}
}

func cronAdd(ctx context.Context, e *env, args []string) error {
	fs := e.flags("cron add", `SCHEDULE TARGET MSG [--name N] [--payload text|json|signal]   (SCHEDULE: "*/5 * * * *" or "@every 30s")`)
	name := fs.String("name", "", "job name")
	kind := fs.String("payload", "text", "payload kind: text, json or signal")
	pos, err := cmdline.Parse(fs, args, 3, 3)
	if err != nil {
		return err
	}
	target, err := parseTarget(pos[1])
	if err != nil {
		return cmdline.Usagef("%v", err)
	}
	payload, err := makePayload(*kind, pos[2])
	if err != nil {
		return cmdline.Usagef("%v", err)
	}
	return e.withClient(func(c *client.Client) error {
		job, err := c.CronAdd(ctx, apitype.CronRequest{Name: *name, Schedule: pos[0], Target: target, Payload: payload})
		if err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, job)
		}
		fmt.Fprintf(e.stdout, "%s: next run %s\n", job.ID, job.Next.Format(time.RFC3339))
		return nil
	})
}

func cronList(ctx context.Context, e *env, args []string) error {
	fs := e.flags("cron list", "")
	if _, err := cmdline.Parse(fs, args, 0, 0); err != nil {
		return err
	}
	return e.withClient(func(c *client.Client) error {
		jobs, err := c.CronList(ctx)
		if err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, jobs)
		}
		rows := make([][]string, len(jobs))
		for i, j := range jobs {
			last := "-"
			if !j.Last.IsZero() {
				last = j.Last.Format(time.RFC3339)
			}
			rows[i] = []string{j.ID, j.Name, j.Schedule, j.Target.String(), j.Next.Format(time.RFC3339), last, fmt.Sprint(j.Runs), fmt.Sprint(j.Failures)}
		}
		return cmdline.Table(e.stdout, []string{"ID", "NAME", "SCHEDULE", "TARGET", "NEXT", "LAST", "RUNS", "FAILURES"}, rows)
	})
}

func cronRemove(ctx context.Context, e *env, args []string) error {
	fs := e.flags("cron remove", "ID")
	pos, err := cmdline.Parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	return e.withClient(func(c *client.Client) error {
		if err := c.CronRemove(ctx, pos[0]); err != nil {
			return err
		}
		if e.json {
			return cmdline.PrintJSON(e.stdout, map[string]any{"removed": pos[0]})
		}
		fmt.Fprintf(e.stdout, "removed %s\n", pos[0])
		return nil
	})
}
