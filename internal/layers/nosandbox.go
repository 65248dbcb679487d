//go:build nosandbox

package layers

func init() { off[Sandbox] = true }
