package agenthost

import (
	"context"
	"slices"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/kernel"
)

// Offered lists the names of the tools a run of def with caps is offered,
// by the rules NewToolRunner applies: the memory tools (unless the memory
// scope is none), the built-in tools and the installed WASM tools the
// definition names (all when it names none) that the capabilities allow.
// Tools of MCP servers are not listed: they are known only once a run has
// connected its servers. (ECC's Generate mode checks a plan's tools
// against this list.)
func (h *Host) Offered(def agentdef.Definition, caps kernel.Capabilities) ([]string, error) {
	var out []string
	if caps.Memory != kernel.MemoryNone && caps.CanExecTools {
		for _, n := range []string{memoryStoreSpec.Name, memorySearchSpec.Name} {
			if (def.Tools == nil || slices.Contains(def.Tools, n)) && caps.Tools.Permits(n) {
				out = append(out, n)
			}
		}
	}
	for _, t := range ToolsFor(h.builtins, def, caps) {
		out = append(out, t.Name())
	}
	if h.toolhost == nil {
		return out, nil
	}
	installed, err := h.toolhost.List()
	if err != nil {
		return out, err
	}
	for _, it := range installed {
		if (def.Tools == nil || slices.Contains(def.Tools, it.Name)) && caps.CanExecTools && caps.Tools.Permits(it.Name) {
			out = append(out, it.Name)
		}
	}
	return out, nil
}

// CheckModel resolves model ("" for agents.model, else the one provider's
// default) and reports whether a configured provider serves it
// (llm.ErrNoProvider with none configured).
func (h *Host) CheckModel(ctx context.Context, model string) (string, error) {
	return h.checkModel(ctx, model)
}
