package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{
			Name:    "cron",
			Summary: "add, list or remove scheduled IPC messages",
			Subs: []*cmdline.Command{
				{Name: "add", Summary: "schedule a message to a target", Args: "SCHEDULE TARGET MSG", MinArgs: 3, MaxArgs: 3,
					Help:  `SCHEDULE is a cron expression ("*/5 * * * *") or "@every 30s"; TARGET is a PID, kernel, broadcast, topic:NAME or service:NAME[.METHOD].`,
					Setup: e.leaf(cronAdd)},
				{Name: "list", Summary: "list the scheduled jobs with their next and last runs", Setup: e.leaf(cronList)},
				{Name: "remove", Aliases: []string{"rm"}, Summary: "remove a job", Args: "ID", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(cronRemove)},
			},
		}
	})
}

func cronAdd(e *env, fs *flag.FlagSet) cmdline.Action {
	name := fs.String("name", "", "job name")
	kind := fs.String("payload", "text", "payload kind: text, json or signal")
	return func(ctx context.Context, pos []string) error {
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
			return cmdline.Reply(e.stdout, e.json, job, "%s: next run %s\n", job.ID, job.Next.Format(time.RFC3339))
		})
	}
}

func cronList(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
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
}

func cronRemove(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		return e.withClient(func(c *client.Client) error {
			if err := c.CronRemove(ctx, pos[0]); err != nil {
				return err
			}
			return cmdline.Reply(e.stdout, e.json, map[string]any{"removed": pos[0]}, "removed %s\n", pos[0])
		})
	}
}
