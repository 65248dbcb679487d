//go:build nochannels

package layers

func init() { compileOut(Channels, "nochannels") }
