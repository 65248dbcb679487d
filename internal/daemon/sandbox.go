//go:build !nosandbox

package daemon

import (
	"errors"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/sandbox"
)

// toolRoutes are the WASM tools' endpoints (wasmtoolsapi.go).
func (d *Daemon) toolRoutes() []localapi.Route {
	return []localapi.Route{
		{Pattern: "POST /v1/tools", Handler: d.handleToolInstall},
		{Pattern: "GET /v1/tools", Handler: d.handleToolList},
		{Pattern: "GET /v1/tools/{name}", Handler: d.handleToolInspect},
		{Pattern: "POST /v1/tools/{name}/run", Handler: d.handleToolRun},
		{Pattern: "DELETE /v1/tools/{name}", Handler: d.handleToolRemove},
	}
}

// sandboxCode maps the WASM sandbox's errors to API codes (empty in a
// binary built without it: sandbox_off.go).
func sandboxCode(err error) string {
	switch {
	case errors.Is(err, sandbox.ErrBadModule), errors.Is(err, sandbox.ErrImportNotAllowed):
		return apitype.CodeBadToolPackage
	case errors.Is(err, sandbox.ErrFuelExhausted):
		return apitype.CodeFuelExhausted
	case errors.Is(err, sandbox.ErrMemoryLimit):
		return apitype.CodeMemoryLimit
	case errors.Is(err, sandbox.ErrTimeout):
		return apitype.CodeTimeout
	case errors.Is(err, sandbox.ErrOutputTooLarge):
		return apitype.CodeOutputTooLarge
	case errors.Is(err, sandbox.ErrTrap), errors.Is(err, sandbox.ErrExit):
		return apitype.CodeToolFailed
	}
	return ""
}
