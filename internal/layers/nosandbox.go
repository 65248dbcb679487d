//go:build nosandbox

package layers

func init() { compileOut(Sandbox, "nosandbox") }
