//go:build nomemory

package layers

func init() { compileOut(Memory, "nomemory") }
