package main

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
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
			return serveMCPStdio(ctx, e, c, apitype.MCPSessionRequest{Agent: *agent, Workspace: ws, Label: "stdio"})
		})
	}
}
