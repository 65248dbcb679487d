//go:build nomcp

package layers

func init() { off[MCP] = true }
