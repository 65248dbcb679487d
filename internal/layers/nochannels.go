//go:build nochannels

package layers

func init() { off[Channels] = true }
