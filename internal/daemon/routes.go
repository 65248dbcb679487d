package daemon

import (
	"github.com/weftos/weftos/internal/localapi"
)

// routes are the API endpoints of the outer layers.
func (d *Daemon) routes() []localapi.Route {
	return nil
}

// errorCode maps outer layers' errors to API codes.
func (d *Daemon) errorCode(err error) (string, int, bool) {
	return "", 0, false
}
