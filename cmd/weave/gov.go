package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/judicial"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{
			Name:    "gov",
			Summary: "governance: rules, check, env, amend, retire, pending, approve, reject, audit",
			Subs: []*cmdline.Command{
				{Name: "rules", Summary: "the constitution in force and its rules", Setup: e.leaf(govRules)},
				{Name: "check", Summary: "ask the gate what it would decide for an action", Setup: e.leaf(govCheck)},
				{Name: "env", Summary: "show or set the environment (dev, staging, prod)", Args: "[dev|staging|prod]", MaxArgs: 1,
					Choices: []string{"dev", "staging", "prod"}, Setup: e.leaf(govEnv)},
				{Name: "amend", Summary: "add or modify a rule from a TOML file", Setup: e.leaf(govAmend),
					Help: "The file holds one [[rule]] table: it adds the rule, or modifies the rule with its id."},
				{Name: "retire", Summary: "retire a rule", Args: "RULE_ID", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(govRetire)},
				{Name: "pending", Summary: "list the actions waiting for a human decision", Setup: e.leaf(govPending)},
				{Name: "approve", Summary: "approve a pending action", Args: "ID", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(govResolve("approve"))},
				{Name: "reject", Summary: "reject a pending action", Args: "ID", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(govResolve("reject"))},
				{Name: "audit", Summary: "replay the chain and report governance violations", Setup: e.leaf(govAudit)},
			},
		}
	})
}

func govRules(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			rr, err := c.GovRules(ctx)
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, rr)
			}
			fmt.Fprintf(e.stdout, "constitution %q revision %d, hash %s\nenvironment %s (thresholds dev %.2f, staging %.2f, prod %.2f)\n",
				rr.Name, rr.Revision, rr.Hash, rr.Environment, rr.Environments.Dev, rr.Environments.Staging, rr.Environments.Prod)
			if rr.Invalid != "" {
				fmt.Fprintf(e.stdout, "WARNING: constitution.toml is invalid; the adopted constitution is in force: %s\n", cmdline.OneLine(rr.Invalid))
			}
			rows := make([][]string, len(rr.Rules))
			for i, r := range rr.Rules {
				rows[i] = []string{r.ID, string(r.Branch), string(r.Severity), string(r.Outcome), strings.Join(r.When.Actions, ","), r.Description}
			}
			return cmdline.Table(e.stdout, []string{"ID", "BRANCH", "SEVERITY", "OUTCOME", "ACTIONS", "DESCRIPTION"}, rows)
		})
	}
}

func govCheck(e *env, fs *flag.FlagSet) cmdline.Action {
	action := fs.String("action", "", "action, e.g. tool.shell.exec, fs.write, net.egress")
	agent := fs.String("agent", "", "acting agent's name")
	effect := fs.String("effect", "", "declared effect vector, e.g. risk=0.8,privacy=0.2")
	envName := fs.String("env", "", "environment to decide in (default: the node's)")
	path := fs.String("path", "", "context: path")
	host := fs.String("host", "", "context: host")
	tool := fs.String("tool", "", "context: tool name")
	model := fs.String("model", "", "context: model")
	caps := fs.String("caps", "", "comma-separated capabilities the agent holds")
	return func(ctx context.Context, _ []string) error {
		if *action == "" {
			return cmdline.Usagef("gov check needs --action")
		}
		req := governance.Request{Action: *action, Agent: *agent, Process: *agent,
			Context: governance.Context{Path: *path, Host: *host, Tool: *tool, Model: *model}}
		if *effect != "" {
			eff, err := governance.ParseEffect(*effect)
			if err != nil {
				return cmdline.Usagef("--effect: %v", err)
			}
			req.Effect = eff
		}
		if *caps != "" {
			req.Capabilities = strings.Split(*caps, ",")
		}
		return e.withClient(func(c *client.Client) error {
			d, err := c.GovCheck(ctx, apitype.CheckRequest{Request: req, Env: *envName})
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, d)
			}
			fmt.Fprintf(e.stdout, "decision:  %s\nrules:     %s\neffect:    %s (magnitude %.3f, %s threshold %.2f)\nreason:    %s\n",
				d.Outcome, strings.Join(d.RuleIDs, ", "), d.Effect, d.Magnitude, d.Env, d.Threshold, d.Reason)
			return nil
		})
	}
}

func govEnv(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		return e.withClient(func(c *client.Client) error {
			var out apitype.EnvResponse
			var err error
			if len(pos) == 0 {
				out, err = c.GovEnv(ctx)
			} else {
				out, err = c.GovSetEnv(ctx, pos[0])
			}
			if err != nil {
				return err
			}
			return cmdline.Reply(e.stdout, e.json, out, "environment %s (magnitude threshold %.2f)\n", out.Environment, out.Threshold)
		})
	}
}

func govAmend(e *env, fs *flag.FlagSet) cmdline.Action {
	file := fs.String("file", "", "TOML file with the rule")
	return func(ctx context.Context, _ []string) error {
		if *file == "" {
			return cmdline.Usagef("gov amend needs --file")
		}
		b, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		return e.amend(ctx, false, apitype.AmendRequest{Text: string(b)})
	}
}

func govRetire(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		return e.amend(ctx, true, apitype.AmendRequest{RuleID: pos[0]})
	}
}

// amend asks the daemon to amend the constitution, or to retire a rule.
func (e *env) amend(ctx context.Context, retire bool, req apitype.AmendRequest) error {
	return e.withClient(func(c *client.Client) error {
		amend := c.GovAmend
		if retire {
			amend = c.GovRetire
		}
		out, err := amend(ctx, req)
		if err != nil {
			return err
		}
		return cmdline.Reply(e.stdout, e.json, out, "%s %s: constitution revision %d, hash %s (action %s)\n", out.Amendment.Op, out.Amendment.RuleID, out.Revision, out.Hash, out.ActionID)
	})
}

func govPending(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			items, err := c.GovPending(ctx)
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, items)
			}
			rows := make([][]string, len(items))
			for i, it := range items {
				rows[i] = []string{it.ID, it.Request.Action, it.Request.Agent, strings.Join(it.Decision.RuleIDs, ","), it.Deadline.Format(time.RFC3339), it.Decision.Reason}
			}
			return cmdline.Table(e.stdout, []string{"ID", "ACTION", "AGENT", "RULES", "DEADLINE", "REASON"}, rows)
		})
	}
}

// govResolve sets up approve or reject.
func govResolve(verdict string) func(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(e *env, fs *flag.FlagSet) cmdline.Action {
		reason := fs.String("reason", "", "why (recorded on the chain)")
		return func(ctx context.Context, pos []string) error {
			return e.withClient(func(c *client.Client) error {
				by := "operator"
				if u := os.Getenv("USER"); u != "" {
					by = u
				}
				out, err := c.GovResolve(ctx, pos[0], verdict == "approve", apitype.ResolveRequest{By: by, Reason: *reason})
				if err != nil {
					return err
				}
				return cmdline.Reply(e.stdout, e.json, out, "%s: %sd\n", pos[0], verdict)
			})
		}
	}
}

func govAudit(e *env, fs *flag.FlagSet) cmdline.Action {
	since := fs.Uint64("since", 0, "report findings from this chain seq on (earlier records are still replayed)")
	return func(ctx context.Context, _ []string) error {
		ca, err := e.openChain(ctx)
		if err != nil {
			return err
		}
		defer ca.Close()
		var rep apitype.AuditReport
		if ca.c != nil {
			// The daemon audits and applies the sanctions it finds.
			r, err := ca.c.GovAudit(ctx, *since)
			if err != nil {
				return err
			}
			rep = *r
		} else {
			// No daemon: audit the chain on disk, trusting only its own keys.
			r, err := judicial.Audit(ctx, ca.reader, governance.AuditConfig{Since: *since})
			if err != nil {
				return err
			}
			rep = *r
		}
		if e.json {
			if err := cmdline.PrintJSON(e.stdout, rep); err != nil {
				return err
			}
		} else if err := rep.WriteText(e.stdout); err != nil {
			return err
		}
		if !rep.OK() {
			return fmt.Errorf("audit found %d problems", len(rep.Findings))
		}
		return nil
	}
}
