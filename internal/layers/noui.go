//go:build noui

package layers

func init() { off[UI] = true }
