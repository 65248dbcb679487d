//go:build nollm

package layers

func init() { off[LLM] = true }
