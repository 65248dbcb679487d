//go:build nonethttp && !(nomesh && nosandbox && nomemory && nochannels && nomcp && noui && nollm)

package localhttp

// The tag nonethttp replaces net/http only for the local API. The layers
// below use net/http themselves (gateway and channels, the control UI, MCP,
// the mesh's remote IPC, the sandbox's http_fetch host call, memory's
// remote embedder, the LLM providers), so a build that keeps any of them
// would link net/http anyway and mix its types with minihttp's. Build with
// all of: nomesh nosandbox nomemory nochannels nomcp noui nollm (the edge
// tag set, Makefile EDGE_TAGS).
var _ = nonethttp_needs_the_edge_tags__nomesh_nosandbox_nomemory_nochannels_nomcp_noui_nollm
