//go:build noui

package layers

func init() { compileOut(UI, "noui") }
