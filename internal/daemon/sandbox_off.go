//go:build nosandbox

package daemon

import (
	"github.com/weftos/weftos/internal/layers"
	"github.com/weftos/weftos/internal/localapi"
)

// toolRoutes answer layer_not_built: the tool host installs and runs
// nothing without the sandbox (internal/toolhost, toolhost_off.go).
func (d *Daemon) toolRoutes() []localapi.Route { return d.notBuiltRoutes(layers.Sandbox) }

// sandboxCode: no sandbox, no sandbox errors (nosandbox).
func sandboxCode(error) string { return "" }
