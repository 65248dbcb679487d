//go:build nomesh

package layers

func init() { off[Mesh] = true }
