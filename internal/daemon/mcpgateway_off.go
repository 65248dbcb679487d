//go:build !nochannels && !nollm && nomcp

package daemon

import (
	"net/http"

	"github.com/weftos/weftos/internal/layers"
)

// mcpHTTPHandler is the gateway's /mcp without MCP (nomcp): every request
// is answered with the layer's NotBuilt error.
func (d *Daemon) mcpHTTPHandler(string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, layers.NotBuilt(layers.MCP).Error(), http.StatusNotImplemented)
	})
}
