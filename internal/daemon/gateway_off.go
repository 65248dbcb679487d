//go:build nochannels || nollm

package daemon

import (
	"context"

	"github.com/weftos/weftos/internal/layers"
	"github.com/weftos/weftos/internal/localapi"
)

// gatewayParts is empty: the gateway and the chat channels are compiled
// out (nochannels).
type gatewayParts struct{}

// openGateway refuses a configuration that asks for the gateway or a
// chat channel.
func (d *Daemon) openGateway() error {
	switch {
	case d.cfg.Gateway.Listen != "":
		return configuredWithout("[gateway] listen", layers.Channels)
	case len(d.cfg.Channels) > 0:
		return configuredWithout("[[channels]]", layers.Channels)
	}
	return nil
}

func (d *Daemon) closeGateway(context.Context) error { return nil }

func channelsCode(error) string { return "" }

func (d *Daemon) gatewayRoutes() []localapi.Route { return d.notBuiltRoutes(layers.Channels) }
