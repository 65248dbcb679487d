package daemon

import (
	"fmt"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/layers"
	"github.com/weftos/weftos/internal/localapi"
)

// How a layer is compiled out (docs/ARCHITECTURE.md, "Build tags"): each
// optional layer's wiring is in files built without its tag (ui.go is
// `//go:build !noui`); a file built with the tag (ui_off.go) provides the
// same functions, which wire nothing. A layer compiled out still serves
// its endpoints — every one answers layer_not_built (501) naming the layer
// and its tag — so the CLI keeps its commands and prints why; and a
// configuration that asks for the layer refuses the boot rather than
// being ignored.

// layerPatterns are the local API endpoints of each optional layer. The
// files that wire a layer serve exactly these (TestLayerRoutes).
var layerPatterns = map[string][]string{
	layers.UI: {"POST /v1/ui/login"},
	layers.Mesh: {"GET /v1/cluster", "POST /v1/cluster/init", "POST /v1/cluster/invites", "POST /v1/cluster/join",
		"POST /v1/cluster/leave", "POST /v1/cluster/remove", "GET /v1/cluster/peers", "POST /v1/cluster/spawn",
		"GET /v1/cluster/processes"},
	layers.Sandbox: {"POST /v1/tools", "GET /v1/tools", "GET /v1/tools/{name}", "POST /v1/tools/{name}/run", "DELETE /v1/tools/{name}"},
	layers.Memory: {"POST /v1/memory/ingest", "POST /v1/memory/search", "GET /v1/memory/stats", "DELETE /v1/memory/{id}",
		"POST /v1/memory/reembed"},
	layers.LLM: {"POST /v1/agent/run", "POST /v1/agent/start", "GET /v1/agent/tools", "GET /v1/models", "GET /v1/skills",
		"GET /v1/sessions", "GET /v1/sessions/{name}", "DELETE /v1/sessions/{name}", "GET /v1/sessions/{name}/journal",
		"POST /v1/sessions/{name}/fork", "POST /v1/plan/run", "POST /v1/mcp/sessions", "POST /v1/mcp/sessions/{id}/call",
		"DELETE /v1/mcp/sessions/{id}"},
	layers.Channels: {"POST /v1/gateway/tokens", "GET /v1/gateway/tokens", "DELETE /v1/gateway/tokens/{id}",
		"GET /v1/channels", "GET /v1/pairing", "POST /v1/pairing/{code}/{verdict}"},
}

// notBuiltRoutes serves the layer's endpoints with its NotBuilt error.
func (d *Daemon) notBuiltRoutes(layer string) []localapi.Route {
	var out []localapi.Route
	for _, p := range layerPatterns[layer] {
		out = append(out, localapi.Route{Pattern: p, Handler: func(w http.ResponseWriter, r *http.Request) {
			d.fail(w, layers.NotBuilt(layer))
		}})
	}
	return out
}

// configuredWithout is the boot error for a configuration that uses a
// layer this binary lacks: what names it (e.g. "[ui] listen") and the
// layer.
func configuredWithout(what, layer string) error {
	return fmt.Errorf("daemon: weftos.toml sets %s: %w", what, layers.NotBuilt(layer))
}
