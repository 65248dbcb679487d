//go:build nomcp || nollm

package main

import (
	"context"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/layers"
)

// serveMCPStdio: MCP is compiled out of this binary (nomcp).
func serveMCPStdio(context.Context, *env, *client.Client, apitype.MCPSessionRequest) error {
	return layers.NotBuilt(layers.MCP)
}
