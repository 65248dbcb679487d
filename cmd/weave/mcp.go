package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/mcpserve"
)

// stdin is what mcp serve --stdio reads (tests replace it).
var stdin io.Reader = os.Stdin

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{
			Name:    "mcp",
			Summary: "the Model Context Protocol: serve WeftOS's governed tools to MCP clients",
			Subs: []*cmdline.Command{
				{Name: "serve", Summary: "serve an agent's tools, ask_agent and memory search over MCP (stdio)", Setup: e.leaf(mcpServe),
					Help: "Speaks MCP on stdin/stdout to one client (an IDE, a desktop assistant), talking to the running daemon.\n" +
						"The tools are those the agent definition (--agent, default: the default agent) may call in the workspace\n" +
						"(--workspace, default: the current directory), plus ask_agent and memory search. Every call is an act of\n" +
						"the session's process: decided by governance and recorded on the chain; a refused call is an error result.\n" +
						"Over HTTP, the gateway serves the same at /mcp to tokens with the mcp scope (docs/MCP.md)."},
			},
		}
	})
}

// clientBackend is the daemon, over the typed client, as the MCP
// server's Backend.
type clientBackend struct {
	c   *client.Client
	req apitype.MCPSessionRequest
}

func (b clientBackend) Open(ctx context.Context) (apitype.MCPSession, error) {
	return b.c.MCPSession(ctx, b.req)
}

func (b clientBackend) Call(ctx context.Context, session string, req apitype.MCPCallRequest) (apitype.MCPCallResult, error) {
	return b.c.MCPCall(ctx, session, req)
}

func (b clientBackend) End(ctx context.Context, session string) error {
	_, err := b.c.MCPSessionEnd(ctx, session)
	return err
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

func mcpServe(e *env, fs *flag.FlagSet) cmdline.Action {
	stdio := fs.Bool("stdio", false, "speak MCP on stdin/stdout (the only transport of this command; HTTP is the gateway's /mcp)")
	agent := fs.String("agent", "", "the agent definition whose capabilities the tools run with (default: the default agent)")
	workspace := fs.String("workspace", "", "the workspace the file tools work in (default: the current directory)")
	return func(ctx context.Context, _ []string) error {
		if !*stdio {
			return cmdline.Usagef("mcp serve needs --stdio (MCP over HTTP is served by the gateway at /mcp)")
		}
		ws := *workspace
		if ws == "" {
			ws = "."
		}
		ws, err := filepath.Abs(ws)
		if err != nil {
			return err
		}
		return e.withClient(func(c *client.Client) error {
			log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			srv, err := mcpserve.New(ctx, clientBackend{c: c, req: apitype.MCPSessionRequest{Agent: *agent, Workspace: ws, Label: "stdio"}},
				mcpserve.Options{Version: version, Log: log})
			if err != nil {
				return err
			}
			defer func() {
				if err := srv.Close(context.WithoutCancel(ctx)); err != nil {
					fmt.Fprintf(e.stderr, "weave: ending the MCP tool session: %v\n", err)
				}
			}()
			err = srv.MCP().Run(ctx, &mcp.IOTransport{Reader: io.NopCloser(stdin), Writer: nopWriteCloser{e.stdout}})
			if err == nil || errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) || errors.Is(err, mcp.ErrConnectionClosed) {
				return nil // the client went away
			}
			return err
		})
	}
}
