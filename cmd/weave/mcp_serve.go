//go:build !nomcp && !nollm

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/mcpserve"
)

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

// serveMCPStdio serves one MCP client on stdin/stdout: an MCP tool
// session of the daemon behind internal/mcpserve.
func serveMCPStdio(ctx context.Context, e *env, c *client.Client, req apitype.MCPSessionRequest) error {
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := mcpserve.New(ctx, clientBackend{c: c, req: req},
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
}
