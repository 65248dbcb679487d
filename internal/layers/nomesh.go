//go:build nomesh

package layers

func init() { compileOut(Mesh, "nomesh") }
