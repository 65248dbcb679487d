package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/apppkg"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
)

// appConfigCommand is `weave app config`.
func appConfigCommand(e *env) *cmdline.Command {
	return &cmdline.Command{Name: "config", Summary: "show an app's settings, or change them (a governed act)",
		Args: "NAME [KEY=VALUE...]", MinArgs: 1, MaxArgs: -1, Setup: e.leaf(appConfig),
		Help: "With only NAME: each setting the installed version declares in [config] — its type, the value in effect\n" +
			"and whether it is the default or was set. A secret's value is never shown (only the hash recorded for it).\n\n" +
			"With KEY=VALUE arguments, --unset KEY or --stdin KEY: one app.configure act, decided by governance and\n" +
			"recorded on the chain (a secret's value as its hash). A key the app does not declare, or a value that is\n" +
			"not of its type (string, int, bool, float), is refused, and the refusal recorded.\n\n" +
			"The values reach the app's processes when they start: ${config.KEY} in its agents' system prompts and\n" +
			"its cron jobs' messages. A running app keeps its values until it is started again (weave app stop, then\n" +
			"start), or pass --restart.\n\n" +
			"  weave app config research\n" +
			"  weave app config research digest_length=150 --restart\n" +
			"  weave app config research --unset digest_length\n" +
			"  printf %s \"$TOKEN\" | weave app config research --stdin api_token"}
}

var configArgRE = regexp.MustCompile(`^([a-z_][a-z0-9_.-]{0,63})=(.*)$`)

func appConfig(e *env, fs *flag.FlagSet) cmdline.Action {
	var unset multiFlag
	fs.Var(&unset, "unset", "a setting to put back to its default (repeatable)")
	stdin := fs.String("stdin", "", "a setting whose value is read from standard input (for secrets: not on the command line)")
	restart := fs.Bool("restart", false, "if the app runs, stop and start it so its processes take the new values now")
	return func(ctx context.Context, args []string) error {
		name := args[0]
		req := apitype.AppConfigRequest{Unset: splitList(unset), Restart: *restart}
		for _, a := range args[1:] {
			m := configArgRE.FindStringSubmatch(a)
			if m == nil {
				return cmdline.Usagef("app config: %q: want KEY=VALUE", a)
			}
			if req.Set == nil {
				req.Set = map[string]string{}
			}
			if _, dup := req.Set[m[1]]; dup {
				return cmdline.Usagef("app config: %s given twice", m[1])
			}
			req.Set[m[1]] = m[2]
		}
		if *stdin != "" {
			v, err := readValue(os.Stdin)
			if err != nil {
				return err
			}
			if req.Set == nil {
				req.Set = map[string]string{}
			}
			if _, dup := req.Set[*stdin]; dup {
				return cmdline.Usagef("app config: %s given twice", *stdin)
			}
			req.Set[*stdin] = v
		}
		change := len(req.Set) > 0 || len(req.Unset) > 0
		if !change && *restart {
			return cmdline.Usagef("app config: --restart goes with a change (KEY=VALUE, --unset or --stdin)")
		}
		return e.withClient(func(c *client.Client) error {
			var out apitype.AppConfig
			var err error
			if change {
				out, err = c.AppConfigure(ctx, name, req)
			} else {
				out, err = c.AppConfig(ctx, name)
			}
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, out)
			}
			if !change {
				return printAppConfig(e, out)
			}
			secret := map[string]bool{}
			for _, s := range out.Settings {
				secret[s.Key] = s.Secret
			}
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(req.Set)) {
				if secret[k] {
					parts = append(parts, k+"=(secret)")
				} else {
					parts = append(parts, k+"="+valueOf(out, k))
				}
			}
			for _, k := range req.Unset {
				parts = append(parts, "unset "+k)
			}
			fmt.Fprintf(e.stdout, "%s %s: %s (app.configure, chain seq %d)\n", out.App, out.Version, strings.Join(parts, ", "), out.Seq)
			switch {
			case out.Restarted:
				fmt.Fprintf(e.stdout, "restarted: its processes run with the new values\n")
			case out.Running:
				fmt.Fprintf(e.stdout, "takes effect at the next start of its processes: weave app stop %s && weave app start %s (or --restart)\n", out.App, out.App)
			default:
				fmt.Fprintf(e.stdout, "takes effect when it starts: weave app start %s\n", out.App)
			}
			return nil
		})
	}
}

// readValue reads one value from r: everything, less one trailing newline.
func readValue(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(bufio.NewReader(r), apppkg.MaxConfigValue+2))
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if len(s) > apppkg.MaxConfigValue {
		return "", fmt.Errorf("the value on standard input is longer than %d bytes", apppkg.MaxConfigValue)
	}
	return s, nil
}

func valueOf(out apitype.AppConfig, key string) string {
	for _, s := range out.Settings {
		if s.Key == key && s.Value != nil {
			return *s.Value
		}
	}
	return ""
}

func printAppConfig(e *env, out apitype.AppConfig) error {
	state := "stopped"
	if out.Running {
		state = "running"
	}
	fmt.Fprintf(e.stdout, "%s %s (%s)", out.App, out.Version, state)
	if out.Seq != 0 {
		fmt.Fprintf(e.stdout, ", last configured at chain seq %d", out.Seq)
	}
	fmt.Fprintln(e.stdout)
	if len(out.Settings) == 0 {
		fmt.Fprintln(e.stdout, "no settings: the app declares no [config]")
		return nil
	}
	rows := make([][]string, 0, len(out.Settings))
	for _, s := range out.Settings {
		value := "(not set: required)"
		switch {
		case s.Undeclared:
			value = "(kept from an earlier version, not declared by " + out.Version + ")"
		case s.Secret && s.Hash != "":
			value = "(secret, " + s.Hash[:min(len(s.Hash), 19)] + "…)"
		case s.Secret && s.Source == apitype.ConfigSourceDefault:
			value = "(secret, empty default)"
		case s.Secret:
			value = "(secret, not set: required)"
		case s.Value != nil:
			value = *s.Value
		}
		def := "-"
		if s.Default != nil {
			def = *s.Default
			if s.Secret {
				def = `""`
			}
		}
		typ := s.Type
		if typ == "" {
			typ = "-"
		}
		rows = append(rows, []string{s.Key, typ, value, s.Source, def, s.Description})
	}
	return cmdline.Table(e.stdout, []string{"KEY", "TYPE", "VALUE", "SOURCE", "DEFAULT", "DESCRIPTION"}, rows)
}

// appTrustCommand is `weave app trust`.
func appTrustCommand(e *env) *cmdline.Command {
	return &cmdline.Command{Name: "trust", Summary: "publisher keys trusted to sign apps: add, list, remove (governed acts)",
		Subs: []*cmdline.Command{
			{Name: "add", Summary: "trust a publisher key (app.trust: a governed act; deferred outside dev)", Args: "KEYFILE|PUBKEY",
				MinArgs: 1, MaxArgs: 1, Setup: e.leaf(trustAdd),
				Help: "PUBKEY is the publisher's Ed25519 public key in hex (the \"key\" of a package's weftapp.sig). KEYFILE is a\n" +
					"file holding one: hex, an OpenSSH ssh-ed25519 line, or a PEM PUBLIC KEY. Apps signed by a trusted key install\n" +
					"without the untrusted-app rule's wait (the constitution decides: in staging and prod installs still wait).\n" +
					"The key is added to HOME/apps/trusted_keys with the chain seq of the decision that trusted it."},
			{Name: "list", Summary: "list the trusted publisher keys", Setup: e.leaf(trustList),
				Help: "Keys added by hand to HOME/apps/trusted_keys (the format before this command) are trusted too, and shown\n" +
					"as \"by hand\": they have no record on the chain."},
			{Name: "remove", Summary: "stop trusting a publisher key (app.distrust: a governed act)", Args: "ID", MinArgs: 1, MaxArgs: 1,
				Setup: e.leaf(trustRemove),
				Help: "ID is the key's name, the key, or a prefix of it of 8 or more hex digits matching one key. Installed apps\n" +
					"keep running; later installs and upgrades signed by the key are untrusted."},
		}}
}

var hexKeyRE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

func trustAdd(e *env, fs *flag.FlagSet) cmdline.Action {
	name := fs.String("name", "", "a name to know the key by (letters, digits, _ . @ -)")
	return func(ctx context.Context, args []string) error {
		// The daemon reads the key (and records a refusal of one it
		// cannot read): the argument, or the file it names.
		req := apitype.PublisherTrustRequest{Key: args[0], Name: *name, Source: "argument"}
		if !hexKeyRE.MatchString(args[0]) {
			if fi, err := os.Stat(args[0]); err == nil && fi.Mode().IsRegular() {
				if fi.Size() > 64<<10 {
					return fmt.Errorf("%s: larger than 64 KiB: not a key file", args[0])
				}
				b, err := os.ReadFile(args[0])
				if err != nil {
					return err
				}
				req.Key, req.Source = string(b), args[0]
			}
		}
		return e.withClient(func(c *client.Client) error {
			out, err := c.TrustPublisher(ctx, req)
			if err != nil {
				return err
			}
			return cmdline.Reply(e.stdout, e.json, out, "trusted %s%s (app.trust, decision at chain seq %d)\n", out.ID, nameSuffix(out.Name), out.Seq)
		})
	}
}

func nameSuffix(name string) string {
	if name == "" {
		return ""
	}
	return " (" + name + ")"
}

func trustList(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			out, err := c.Publishers(ctx)
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, out)
			}
			if len(out.Keys) == 0 {
				fmt.Fprintf(e.stdout, "no trusted publisher keys (%s): weave app trust add KEY\n", out.File)
				return nil
			}
			rows := make([][]string, 0, len(out.Keys))
			for _, k := range out.Keys {
				switch {
				case k.Invalid != "":
					rows = append(rows, []string{"-", "-", fmt.Sprintf("line %d ignored: %s", k.Line, k.Invalid), "", ""})
				case k.Seq == 0:
					rows = append(rows, []string{k.ID, orDefault(k.Name, "-"), k.Key, "by hand (no record)", ""})
				default:
					rows = append(rows, []string{k.ID, orDefault(k.Name, "-"), k.Key, fmt.Sprintf("seq %d", k.Seq), k.Added})
				}
			}
			return cmdline.Table(e.stdout, []string{"ID", "NAME", "KEY", "TRUSTED BY", "ADDED"}, rows)
		})
	}
}

func trustRemove(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, args []string) error {
		return e.withClient(func(c *client.Client) error {
			out, err := c.DistrustPublisher(ctx, args[0])
			if err != nil {
				return err
			}
			return cmdline.Reply(e.stdout, e.json, out, "no longer trusted: %s%s (app.distrust)\n", out.ID, nameSuffix(out.Name))
		})
	}
}
