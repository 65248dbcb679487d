//go:build nomcp

package layers

func init() { compileOut(MCP, "nomcp") }
