//go:build nollm

package layers

// nollm compiles out the model providers and the agents, and with them
// the layers that only talk to agents: the gateway and the chat channels,
// and MCP (weave mcp serve offers the agents' tools and ask_agent; agents
// are MCP's clients).
func init() {
	compileOut(LLM, "nollm")
	compileOut(Channels, "nollm")
	compileOut(MCP, "nollm")
}
