package planhost

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/plan"
)

// known is plan.Known over the node: the agent definitions the workspace
// and the home hold (and the default), and the tools each is offered —
// built-in, memory and installed WASM tools, as a run would offer them
// (tools of MCP servers are not known before a run connects them, so a
// plan cannot name them).
type known struct {
	catalog   Catalog
	home      string
	workspace string
	mu        sync.Mutex
	tools     map[string][]string
}

var _ plan.Known = (*known)(nil)

func agentName(name string) string {
	if name == "" {
		return agentdef.DefaultName
	}
	return name
}

func (k *known) Agent(name string) error {
	_, err := k.offered(name)
	return err
}

func (k *known) Tool(agent, tool string) error {
	tools, err := k.offered(agent)
	if err != nil {
		return err
	}
	if !slices.Contains(tools, tool) {
		return fmt.Errorf("%w: tool %q is not offered to agent %q (it has %s)", plan.ErrUnknown, tool, agentName(agent), orNone(tools))
	}
	return nil
}

// offered lists the tools agent is offered, cached per plan.
func (k *known) offered(agent string) ([]string, error) {
	name := agentName(agent)
	k.mu.Lock()
	defer k.mu.Unlock()
	if t, ok := k.tools[name]; ok {
		return t, nil
	}
	if name != agentdef.DefaultName && !agentdef.ValidName(name) {
		return nil, fmt.Errorf("%w: agent %q: not a valid name", plan.ErrUnknown, name)
	}
	def, err := k.catalog.FindAgent(name, k.workspace)
	if err != nil {
		return nil, fmt.Errorf("%w: agent %q: %v", plan.ErrUnknown, name, err)
	}
	caps, err := k.catalog.Caps(def)
	if err != nil {
		return nil, fmt.Errorf("agent %q: %w", name, err)
	}
	out, err := k.catalog.Offered(def, caps)
	if err != nil {
		return nil, fmt.Errorf("listing the tools of agent %q: %w", name, err)
	}
	k.tools[name] = out
	return out, nil
}

// list is the catalog the planner is shown: the agents a plan may name
// and their tools.
func (k *known) list() (string, error) {
	names := []string{agentdef.DefaultName}
	defs, _ := agentdef.List(k.workspace, k.home) // unreadable definitions are not offered
	for _, def := range defs {
		if !slices.Contains(names, def.Name) {
			names = append(names, def.Name)
		}
	}
	var b strings.Builder
	for _, n := range names {
		tools, err := k.offered(n)
		if err != nil {
			if n == agentdef.DefaultName {
				return "", err
			}
			continue
		}
		fmt.Fprintf(&b, "- %s: %s\n", n, orNone(tools))
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
