package daemon

import (
	"context"
	"errors"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/apphost"
	"github.com/weftos/weftos/internal/apppkg"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/layers"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/logfile"
	"github.com/weftos/weftos/internal/session"
	"github.com/weftos/weftos/internal/toolhost"
	"github.com/weftos/weftos/internal/toolpkg"
	"github.com/weftos/weftos/internal/xref"
)

// routes are the API endpoints of the outer layers.
func (d *Daemon) routes() []localapi.Route {
	r := append(d.chainRoutes(), d.gov.routes()...)
	r = append(r, d.memoryRoutes()...)
	r = append(r, d.gatewayRoutes()...)
	r = append(r, d.opsRoutes()...)
	r = append(r, d.mcpRoutes()...)
	r = append(r, d.appRoutes()...)
	r = append(r, d.clusterRoutes()...)
	r = append(r, d.xrefRoutes()...)
	r = append(r, d.eccRoutes()...)
	r = append(r, d.planRoutes()...)
	r = append(r, d.uiRoutes()...)
	r = append(r, d.toolRoutes()...)
	r = append(r, d.agentRoutes()...)
	return append(r, localapi.Route{Pattern: "GET /v1/gov/audit", Handler: d.handleAudit})
}

// errorCode maps outer layers' errors to API codes: the one place the
// daemon's errors become codes (the kernel's own map to kernel.Code). The
// HTTP status follows from the code (apitype.StatusForCode).
func (d *Daemon) errorCode(err error) (string, int, bool) {
	code := outerCode(err)
	if code == "" {
		return "", 0, false
	}
	return code, apitype.StatusForCode(code), true
}

func outerCode(err error) string {
	switch {
	case errors.Is(err, layers.ErrNotBuilt):
		return apitype.CodeLayerNotBuilt
	case errors.Is(err, logfile.ErrClosed):
		return apitype.CodeShuttingDown
	case errors.Is(err, authority.ErrLedger):
		return apitype.CodeChainUnavailable
	case errors.Is(err, toolhost.ErrToolTampered):
		return apitype.CodeToolTampered
	case errors.Is(err, authority.ErrDenied):
		return apitype.CodeDenied
	case clusterCode(err) != "":
		return clusterCode(err)
	case errors.Is(err, authority.ErrCapability) && !errors.Is(err, kernel.ErrScope) && !errors.Is(err, kernel.ErrCapabilityExceeds):
		return apitype.CodeCapabilityDenied
	case errors.Is(err, authority.ErrLimit):
		return apitype.CodeLimitReached
	case errors.Is(err, chain.ErrNotFound), errors.Is(err, xref.ErrNotFound):
		return apitype.CodeNotFound
	case errors.Is(err, chain.ErrCorrupt):
		return apitype.CodeChainCorrupt
	case errors.Is(err, chain.ErrVerify):
		return apitype.CodeVerification
	case errors.Is(err, chain.ErrNoCheckpoint):
		return apitype.CodeNoCheckpoint
	case errors.Is(err, toolhost.ErrUnknownTool):
		return apitype.CodeUnknownTool
	case errors.Is(err, toolhost.ErrToolExists):
		return apitype.CodeToolExists
	case errors.Is(err, toolpkg.ErrManifest), errors.Is(err, toolpkg.ErrModule), errors.Is(err, toolpkg.ErrArchive),
		errors.Is(err, toolpkg.ErrImportNotAllowed):
		return apitype.CodeBadToolPackage
	case sandboxCode(err) != "":
		return sandboxCode(err)
	case llmCode(err) != "":
		return llmCode(err)
	case errors.Is(err, agentdef.ErrInvalid), errors.Is(err, agentdef.ErrNotFound):
		return apitype.CodeInvalidAgent
	case errors.Is(err, session.ErrNotFound):
		return apitype.CodeUnknownSession
	case errors.Is(err, session.ErrInvalidName), errors.Is(err, authority.ErrInput):
		return apitype.CodeInvalidArgument
	case errors.Is(err, causal.ErrCycle):
		return apitype.CodeCycle
	case errors.Is(err, causal.ErrNotFound):
		return apitype.CodeNotFound
	case errors.Is(err, causal.ErrInvalid), errors.Is(err, xref.ErrAmbiguous):
		return apitype.CodeInvalidArgument
	case errors.Is(err, session.ErrExists):
		return apitype.CodeSessionExists
	case errors.Is(err, session.ErrInvalidStep):
		return apitype.CodeInvalidArgument
	case errors.Is(err, session.ErrCorrupt):
		return apitype.CodeSessionCorrupt
	case errors.Is(err, session.ErrLocked):
		return apitype.CodeSessionBusy
	case memoryCode(err) != "":
		return memoryCode(err)
	case errors.Is(err, governance.ErrUnknownPending), errors.Is(err, governance.ErrAlreadyResolved):
		return apitype.CodeUnknownAction
	case errors.Is(err, apitype.ErrUnknownMCP):
		return apitype.CodeUnknownMCP
	case errors.Is(err, apphost.ErrUnknownApp):
		return apitype.CodeUnknownApp
	case errors.Is(err, apphost.ErrAppExists):
		return apitype.CodeAppExists
	case errors.Is(err, apitype.ErrUnknownPublisher):
		return apitype.CodeUnknownPublisher
	case errors.Is(err, apitype.ErrPublisherTrusted):
		return apitype.CodePublisherTrusted
	case errors.Is(err, apppkg.ErrManifest), errors.Is(err, apppkg.ErrPackage), errors.Is(err, apppkg.ErrSignature),
		errors.Is(err, apppkg.ErrConfig), errors.Is(err, apppkg.ErrKey):
		return apitype.CodeInvalidArgument
	case channelsCode(err) != "":
		return channelsCode(err)
	}
	return ""
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
			if d.gov.invalidReason() != "" {
				return errors.New("constitution.toml is invalid; the default constitution is in force")
			}
			return nil
		}})
}
