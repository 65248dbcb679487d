package daemon

import (
	"context"
	"errors"
	"net/http"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/sandbox"
	"github.com/weftos/weftos/internal/toolpkg"
)

// routes are the API endpoints of the outer layers.
func (d *Daemon) routes() []localapi.Route {
	r := append(d.chainRoutes(), d.gov.routes()...)
	r = append(r, d.memoryRoutes()...)
	r = append(r, d.opsRoutes()...)
	return append(r,
		localapi.Route{Pattern: "GET /v1/gov/audit", Handler: d.handleAudit},
		localapi.Route{Pattern: "POST /v1/agent/run", Handler: d.handleAgentRun},
		localapi.Route{Pattern: "GET /v1/agent/tools", Handler: d.handleAgentTools},
		localapi.Route{Pattern: "GET /v1/models", Handler: d.handleModels},
		localapi.Route{Pattern: "GET /v1/skills", Handler: d.handleSkills},
		localapi.Route{Pattern: "GET /v1/sessions", Handler: d.handleSessions},
		localapi.Route{Pattern: "GET /v1/sessions/{name}", Handler: d.handleSession},
		localapi.Route{Pattern: "DELETE /v1/sessions/{name}", Handler: d.handleSessionRemove},
		localapi.Route{Pattern: "POST /v1/tools", Handler: d.handleToolInstall},
		localapi.Route{Pattern: "GET /v1/tools", Handler: d.handleToolList},
		localapi.Route{Pattern: "GET /v1/tools/{name}", Handler: d.handleToolInspect},
		localapi.Route{Pattern: "POST /v1/tools/{name}/run", Handler: d.handleToolRun},
		localapi.Route{Pattern: "DELETE /v1/tools/{name}", Handler: d.handleToolRemove},
	)
}

// errorCode maps outer layers' errors to API codes.
func (d *Daemon) errorCode(err error) (string, int, bool) {
	if code, status, ok := opsErrorCode(err); ok {
		return code, status, ok
	}
	switch {
	case errors.Is(err, authority.ErrLedger):
		return "chain_unavailable", http.StatusServiceUnavailable, true
	case errors.Is(err, ErrToolTampered):
		return "tool_tampered", http.StatusConflict, true
	case errors.Is(err, authority.ErrDenied):
		return "denied", http.StatusForbidden, true
	case errors.Is(err, authority.ErrCapability) && !errors.Is(err, kernel.ErrScope) && !errors.Is(err, kernel.ErrCapabilityExceeds):
		return "capability_denied", http.StatusForbidden, true
	case errors.Is(err, authority.ErrLimit):
		return "limit_reached", http.StatusTooManyRequests, true
	case errors.Is(err, chain.ErrNotFound):
		return "not_found", http.StatusNotFound, true
	case errors.Is(err, chain.ErrCorrupt):
		return "chain_corrupt", http.StatusInternalServerError, true
	case errors.Is(err, chain.ErrVerify):
		return "verification_failed", http.StatusConflict, true
	case errors.Is(err, chain.ErrNoCheckpoint):
		return "no_checkpoint", http.StatusConflict, true
	case errors.Is(err, ErrUnknownTool):
		return "unknown_tool", http.StatusNotFound, true
	case errors.Is(err, ErrToolExists):
		return "tool_exists", http.StatusConflict, true
	case errors.Is(err, toolpkg.ErrManifest), errors.Is(err, toolpkg.ErrModule), errors.Is(err, toolpkg.ErrArchive),
		errors.Is(err, toolpkg.ErrImportNotAllowed), errors.Is(err, sandbox.ErrBadModule), errors.Is(err, sandbox.ErrImportNotAllowed):
		return "bad_tool_package", http.StatusBadRequest, true
	case errors.Is(err, sandbox.ErrFuelExhausted):
		return "fuel_exhausted", http.StatusUnprocessableEntity, true
	case errors.Is(err, sandbox.ErrMemoryLimit):
		return "memory_limit", http.StatusUnprocessableEntity, true
	case errors.Is(err, sandbox.ErrTimeout):
		return "timeout", http.StatusUnprocessableEntity, true
	case errors.Is(err, sandbox.ErrOutputTooLarge):
		return "output_too_large", http.StatusUnprocessableEntity, true
	case errors.Is(err, sandbox.ErrTrap), errors.Is(err, sandbox.ErrExit):
		return "tool_failed", http.StatusUnprocessableEntity, true
	}
	return "", 0, false
}

// registerLayerServices makes the chain and governance visible in
// `weave service list`, with probes that check them for real.
func (d *Daemon) registerLayerServices() error {
	if err := d.kernel.RegisterService(kernel.ServiceSpec{Name: "chain", Type: "builtin", Owner: kernel.KernelPID,
		Endpoint: "api:/v1/chain", Methods: []string{"status", "events", "export", "prove", "consistency", "keys"},
		Liveness: func(ctx context.Context) error {
			if err := d.auth.Healthy(); err != nil {
				return err
			}
			if d.chain == nil {
				return d.chainErr()
			}
			if n := d.chain.Len(); n > 0 {
				_, err := d.chain.Get(n - 1)
				return err
			}
			return nil
		}}); err != nil {
		return err
	}
	return d.kernel.RegisterService(kernel.ServiceSpec{Name: "governance", Type: "builtin", Owner: kernel.KernelPID,
		Endpoint: "api:/v1/gov", Methods: []string{"check", "amend", "retire", "pending", "approve", "reject", "audit"},
		Liveness: func(context.Context) error { return nil },
		Readiness: func(context.Context) error {
			if d.gov.invalid != "" {
				return errors.New("constitution.toml is invalid; the default constitution is in force")
			}
			return nil
		}})
}
