//go:build nomemory

package daemon

import (
	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/layers"
)

// handleEccAnalyze: Analyze mode stores what it reads in the memory,
// compiled out of this binary (nomemory). Analyze records already on the
// chain still replay into the graph (eccanalyze.go).
func (d *Daemon) handleEccAnalyze(w http.ResponseWriter, _ *http.Request) {
	d.fail(w, layers.NotBuilt(layers.Memory))
}
