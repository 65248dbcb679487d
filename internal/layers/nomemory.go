//go:build nomemory

package layers

func init() { off[Memory] = true }
