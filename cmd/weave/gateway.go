package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{
			Name:    "gateway",
			Summary: "the gateway's bearer tokens: token create, list, revoke",
			Subs: []*cmdline.Command{{
				Name:    "token",
				Summary: "bearer tokens for OpenAI clients and the WebSocket: create, list, revoke",
				Subs: []*cmdline.Command{
					{Name: "create", Summary: "create a token for agents (its secret is shown once)", Setup: e.leaf(tokenCreate),
						Help: "The token reaches the agents named with --agent (models weft/NAME) and may do what its scopes say:\n" +
							"chat (POST /v1/chat/completions), models (GET /v1/models), ws (the WebSocket), mcp (MCP at /mcp); all four by default.\n" +
							"Only a hash of it is kept: copy it now. Creating a token is a governed act on the chain."},
					{Name: "list", Summary: "list tokens (never their secrets)", Setup: e.leaf(tokenList)},
					{Name: "revoke", Summary: "revoke a token: it authenticates nothing from now on", Args: "ID", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(tokenRevoke)},
				},
			}},
		}
	})
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{
			Name:    "channels",
			Summary: "chat channels and the gateway: status",
			Subs: []*cmdline.Command{
				{Name: "status", Summary: "the gateway's address and every chat channel's state and counters", Setup: e.leaf(channelsStatus)},
			},
		}
	})
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{
			Name:    "pairing",
			Summary: "who may talk to agents on chat channels: list, approve, deny",
			Subs: []*cmdline.Command{
				{Name: "list", Summary: "pending pairing requests and approved senders", Setup: e.leaf(pairingList)},
				{Name: "approve", Summary: "let the sender of a pairing code talk to the channel's agents (a governed act)",
					Args: "CODE", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(pairingResolve(true))},
				{Name: "deny", Summary: "refuse a pairing request (a governed act)", Args: "CODE", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(pairingResolve(false))},
			},
		}
	})
}

func tokenCreate(e *env, fs *flag.FlagSet) cmdline.Action {
	var agents, scopes multiFlag
	fs.Var(&agents, "agent", "an agent the token reaches (repeatable, or comma-separated)")
	fs.Var(&scopes, "scope", "chat, models, ws or mcp (repeatable, or comma-separated; default: all)")
	label := fs.String("label", "", "a note on what the token is for")
	return func(ctx context.Context, _ []string) error {
		req := apitype.GatewayTokenCreateRequest{Agents: splitList(agents), Scopes: splitList(scopes), Label: *label}
		if len(req.Agents) == 0 {
			return cmdline.Usagef("gateway token create needs --agent")
		}
		return e.withClient(func(c *client.Client) error {
			out, err := c.GatewayTokenCreate(ctx, req)
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, out)
			}
			fmt.Fprintf(e.stdout, "%s\n", out.Token)
			fmt.Fprintf(e.stderr, "token %s for %s (scopes %s): copy it now, it is not shown again\n",
				out.Info.ID, strings.Join(out.Info.Agents, ", "), strings.Join(out.Info.Scopes, ", "))
			return nil
		})
	}
}

// splitList flattens repeated, comma-separated flag values.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func tokenList(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			out, err := c.GatewayTokens(ctx)
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, out)
			}
			rows := make([][]string, len(out.Tokens))
			for i, t := range out.Tokens {
				state := "active"
				if t.Revoked != nil {
					state = "revoked " + t.Revoked.Format(time.RFC3339)
				}
				rows[i] = []string{t.ID, strings.Join(t.Agents, ","), strings.Join(t.Scopes, ","), t.Created.Format(time.RFC3339), state, t.Label}
			}
			return cmdline.Table(e.stdout, []string{"ID", "AGENTS", "SCOPES", "CREATED", "STATE", "LABEL"}, rows)
		})
	}
}

func tokenRevoke(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, pos []string) error {
		return e.withClient(func(c *client.Client) error {
			out, err := c.GatewayTokenRevoke(ctx, pos[0])
			if err != nil {
				return err
			}
			return cmdline.Reply(e.stdout, e.json, out, "token %s revoked\n", out.ID)
		})
	}
}

func channelsStatus(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			out, err := c.Channels(ctx)
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, out)
			}
			g := out.Gateway
			switch {
			case g.Listen == "":
				fmt.Fprintf(e.stdout, "gateway: off ([gateway] listen is empty); %s\n", plural(g.Tokens, "active token"))
			default:
				scheme := "http"
				if g.TLS {
					scheme = "https"
				}
				fmt.Fprintf(e.stdout, "gateway: %s://%s (%s", scheme, g.Addr, plural(g.Tokens, "active token"))
				if len(g.Hooks) > 0 {
					fmt.Fprintf(e.stdout, "; hooks %s", strings.Join(g.Hooks, ", "))
				}
				fmt.Fprintln(e.stdout, ")")
			}
			if len(out.Channels) == 0 {
				fmt.Fprintln(e.stdout, "no chat channels configured ([[channels]] in weftos.toml)")
				return nil
			}
			rows := make([][]string, len(out.Channels))
			for i, ch := range out.Channels {
				rows[i] = []string{ch.Name, ch.Kind, ch.State, strconv.Itoa(ch.Restarts), strconv.FormatUint(ch.Received, 10),
					strconv.FormatUint(ch.Answered, 10), strconv.FormatUint(ch.Refused, 10), cmdline.OneLine(ch.LastError)}
			}
			return cmdline.Table(e.stdout, []string{"NAME", "KIND", "STATE", "RESTARTS", "RECEIVED", "ANSWERED", "REFUSED", "LAST ERROR"}, rows)
		})
	}
}

func pairingList(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			out, err := c.Pairing(ctx)
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, out)
			}
			if len(out.Pending)+len(out.Approved) == 0 {
				fmt.Fprintln(e.stdout, "no pairing requests and no approved senders: strangers who message a bot get a code to show you")
				return nil
			}
			rows := [][]string{}
			for _, p := range out.Pending {
				rows = append(rows, []string{p.Code, p.Channel, p.Sender, p.Name, "pending until " + p.Expires.Format(time.RFC3339)})
			}
			for _, a := range out.Approved {
				rows = append(rows, []string{"", a.Channel, a.Sender, a.Name, "approved " + a.Approved.Format(time.RFC3339)})
			}
			return cmdline.Table(e.stdout, []string{"CODE", "CHANNEL", "SENDER", "NAME", "STATE"}, rows)
		})
	}
}

func pairingResolve(approve bool) func(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(e *env, fs *flag.FlagSet) cmdline.Action {
		return func(ctx context.Context, pos []string) error {
			return e.withClient(func(c *client.Client) error {
				out, err := c.PairingResolve(ctx, pos[0], approve)
				if err != nil {
					return err
				}
				if e.json {
					return cmdline.PrintJSON(e.stdout, out)
				}
				verdict := "approved: the sender may talk to the channel's agents"
				if !out.Approved {
					verdict = "denied"
				}
				fmt.Fprintf(e.stdout, "%s (%s on %s) %s (action %s)\n", out.Code, out.Sender, out.Channel, verdict, out.ActionID)
				return nil
			})
		}
	}
}

// plural renders n and noun, with an s when n is not 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
