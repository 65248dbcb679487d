//go:build noui

package daemon

import (
	"context"

	"github.com/weftos/weftos/internal/layers"
	"github.com/weftos/weftos/internal/localapi"
)

// uiParts is empty: the control UI is compiled out (noui).
type uiParts struct{}

// openUI refuses a configuration that asks for the UI.
func (d *Daemon) openUI() error {
	if d.cfg.UI.Listen != "" {
		return configuredWithout("[ui] listen", layers.UI)
	}
	return nil
}

func (d *Daemon) closeUI(context.Context) error { return nil }

// UIAddr is "": there is no UI.
func (d *Daemon) UIAddr() string { return "" }

func (d *Daemon) uiRoutes() []localapi.Route { return d.notBuiltRoutes(layers.UI) }
