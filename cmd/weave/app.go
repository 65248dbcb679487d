package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/apppkg"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{
			Name:    "app",
			Summary: "packaged apps: install, list, inspect, start, stop, upgrade, remove, config, trust",
			Subs: []*cmdline.Command{
				{Name: "install", Summary: "install an app package (directory or .tar.gz): a governed act", Args: "PATH", MinArgs: 1, MaxArgs: 1,
					Setup: e.leaf(appInstall(false)),
					Help: "Shows what the app requests (capabilities, hosts, agents, tools, services, cron jobs), its digest and\n" +
						"signature, then asks the daemon to install it (app.install, recorded with the digest). An unsigned app, or\n" +
						"one signed by a key not trusted (weave app trust list), waits for a human: weave gov pending / approve ID."},
				{Name: "list", Summary: "list installed apps", Setup: e.leaf(appList)},
				{Name: "inspect", Summary: "an installed app's record, or a package's manifest, digest and signature", Args: "NAME|PATH",
					MinArgs: 1, MaxArgs: 1, Setup: e.leaf(appInspect)},
				{Name: "start", Summary: "start an app's services (under its supervisor) and cron jobs", Args: "NAME", MinArgs: 1, MaxArgs: 1,
					Setup: e.leaf(appControl("start"))},
				{Name: "stop", Summary: "stop an app's services and cron jobs", Args: "NAME", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(appControl("stop"))},
				{Name: "upgrade", Summary: "replace an installed app with a new package, atomically (rolled back on failure)", Args: "NAME PATH",
					MinArgs: 2, MaxArgs: 2, Setup: e.leaf(appInstall(true))},
				{Name: "remove", Summary: "stop an app and remove what it installed (the chain keeps its history)", Args: "NAME", MinArgs: 1, MaxArgs: 1,
					Setup: e.leaf(appRemove)},
				appConfigCommand(e),
				appTrustCommand(e),
			},
		}
	})
}

// describePackage prints what a package requests.
func describePackage(e *env, pkg *apppkg.Package) {
	m := pkg.Manifest
	signed := "unsigned"
	if pkg.Publisher != "" {
		signed = "signed by " + pkg.Publisher
	}
	fmt.Fprintf(e.stderr, "app %s %s — %s\n  digest %s (%s)\n", m.Name, m.Version, m.Description, pkg.Digest, signed)
	fmt.Fprintf(e.stderr, "  requests capabilities: %s; hosts: %s\n", listOrNone(m.Requests.Capabilities), listOrNone(m.Requests.Hosts))
	fmt.Fprintf(e.stderr, "  agents: %s; skills: %s; tools: %s\n", listOrNone(m.Agents), listOrNone(m.Skills), listOrNone(m.Tools))
	var svc, cron []string
	for _, s := range m.Services {
		svc = append(svc, s.Agent+" ("+orDefault(s.Restart, "permanent")+")")
	}
	for _, c := range m.Cron {
		cron = append(cron, c.Schedule+" → "+c.Agent)
	}
	fmt.Fprintf(e.stderr, "  services: %s; cron: %s\n", listOrNone(svc), listOrNone(cron))
	var settings []string
	for _, k := range slices.Sorted(maps.Keys(m.Config)) {
		v := m.Config[k]
		switch {
		case v.Secret:
			settings = append(settings, k+" ("+v.Type+", secret)")
		case v.Default == nil:
			settings = append(settings, k+" ("+v.Type+", required)")
		default:
			settings = append(settings, k+" ("+v.Type+", default "+*v.Default+")")
		}
	}
	fmt.Fprintf(e.stderr, "  settings: %s\n", listOrNone(settings))
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func appInstall(upgrade bool) func(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(e *env, fs *flag.FlagSet) cmdline.Action {
		return func(ctx context.Context, args []string) error {
			p := args[len(args)-1]
			abs, err := filepath.Abs(p)
			if err != nil {
				return err
			}
			pkg, err := apppkg.Load(abs)
			if err != nil {
				return err
			}
			if !e.json {
				describePackage(e, pkg)
				fmt.Fprintln(e.stderr, "  installing: a governed act (an unsigned or untrusted app waits for approval: weave gov pending)")
			}
			_ = pkg.Close()
			return e.withClient(func(c *client.Client) error {
				var a apitype.App
				if upgrade {
					a, err = c.AppUpgrade(ctx, args[0], abs)
				} else {
					a, err = c.AppInstall(ctx, abs)
				}
				if err != nil {
					return err
				}
				return cmdline.Reply(e.stdout, e.json, a, "%s %s installed (%s, chain seq %d)\n", a.Name, a.Version, a.Signature, a.InstallSeq)
			})
		}
	}
}

func appList(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			list, err := c.Apps(ctx)
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, list)
			}
			rows := make([][]string, len(list))
			for i, a := range list {
				state := "stopped"
				if a.Running {
					state = "running"
				}
				rows[i] = []string{a.Name, a.Version, state, a.Signature, a.Digest[:12], a.Description}
			}
			return cmdline.Table(e.stdout, []string{"NAME", "VERSION", "STATE", "SIGNATURE", "DIGEST", "DESCRIPTION"}, rows)
		})
	}
}

func appInspect(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, args []string) error {
		if fi, err := os.Stat(args[0]); err == nil && (fi.IsDir() || strings.HasSuffix(args[0], ".tar.gz") || strings.HasSuffix(args[0], ".tgz")) {
			pkg, err := apppkg.Load(args[0])
			if err != nil {
				return err
			}
			defer pkg.Close()
			if e.json {
				return cmdline.PrintJSON(e.stdout, map[string]any{"manifest": pkg.Manifest, "digest": pkg.Digest, "publisher": pkg.Publisher, "files": pkg.Files})
			}
			describePackage(&env{stdout: e.stdout, stderr: e.stdout}, pkg)
			return nil
		}
		return e.withClient(func(c *client.Client) error {
			a, err := c.App(ctx, args[0])
			if err != nil {
				return err
			}
			return cmdline.PrintJSON(e.stdout, a)
		})
	}
}

func appControl(op string) func(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(e *env, fs *flag.FlagSet) cmdline.Action {
		return func(ctx context.Context, args []string) error {
			return e.withClient(func(c *client.Client) error {
				var a apitype.App
				var err error
				if op == "start" {
					a, err = c.AppStart(ctx, args[0])
				} else {
					a, err = c.AppStop(ctx, args[0])
				}
				if err != nil {
					return err
				}
				if e.json {
					return cmdline.PrintJSON(e.stdout, a)
				}
				state := "stopped"
				if a.Running {
					state = "running under " + a.Supervisor
				}
				fmt.Fprintf(e.stdout, "%s %s %s\n", a.Name, a.Version, state)
				return nil
			})
		}
	}
}

func appRemove(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, args []string) error {
		return e.withClient(func(c *client.Client) error {
			out, err := c.AppRemove(ctx, args[0])
			if err != nil {
				return err
			}
			return cmdline.Reply(e.stdout, e.json, out, "removed %s\n", out.Removed)
		})
	}
}
