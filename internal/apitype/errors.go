package apitype

import (
	"errors"

	http "github.com/weftos/weftos/internal/localhttp"
)

// Error codes of the outer layers (chain, governance, agents, tools,
// memory, sessions). A code is stable: clients branch on it, through the
// sentinel errors below (errors.Is(err, apitype.ErrDenied) holds for an
// error the client decoded with code "denied"). The kernel's own codes are
// kernel.Code's.
const (
	CodeInvalidArgument  = "invalid_argument"
	CodeTooLarge         = "too_large"
	CodeUnauthorized     = "unauthorized"
	CodeInternal         = "internal"
	CodeChainUnavailable = "chain_unavailable"
	CodeChainCorrupt     = "chain_corrupt"
	CodeVerification     = "verification_failed"
	CodeNoCheckpoint     = "no_checkpoint"
	CodeNotFound         = "not_found"
	CodeDenied           = "denied"
	CodeCapabilityDenied = "capability_denied"
	CodeLimitReached     = "limit_reached"
	CodeUnknownAction    = "unknown_action"
	CodeStaleAmendment   = "stale_amendment"
	CodeToolTampered     = "tool_tampered"
	CodeUnknownTool      = "unknown_tool"
	CodeToolExists       = "tool_exists"
	CodeBadToolPackage   = "bad_tool_package"
	CodeFuelExhausted    = "fuel_exhausted"
	CodeMemoryLimit      = "memory_limit"
	CodeTimeout          = "timeout"
	CodeOutputTooLarge   = "output_too_large"
	CodeToolFailed       = "tool_failed"
	CodeNoProvider       = "no_provider"
	CodeModelUnavailable = "model_unavailable"
	CodeInvalidAgent     = "invalid_agent"
	CodeUnknownSession   = "unknown_session"
	CodeSessionBusy      = "session_busy"
	CodeSessionExists    = "session_exists"
	CodeSessionCorrupt   = "session_corrupt"
	CodeEmbedderMismatch = "embedder_mismatch"
	CodeUnknownToken     = "unknown_token"
	CodeUnknownPairing   = "unknown_pairing_code"
	CodeShuttingDown     = "shutting_down"
	CodeUnknownMCP       = "unknown_mcp_session"
	CodeUnknownApp       = "unknown_app"
	CodeAppExists        = "app_exists"
	CodeUnknownPublisher = "unknown_publisher"
	CodePublisherTrusted = "publisher_trusted"
	CodeNotInCluster     = "not_in_cluster"
	CodeInCluster        = "in_cluster"
	CodeBadToken         = "bad_token"
	CodeTokenExpired     = "token_expired"
	CodeTokenUsed        = "token_used"
	CodeNodeRemoved      = "node_removed"
	CodeNotMember        = "not_member"
	CodeUnknownNode      = "unknown_node"
	CodeJoinRefused      = "join_refused"
	CodeUnreachable      = "unreachable"
	CodeNotSent          = "request_not_sent"
	CodeNoReply          = "no_reply"
	CodeNoQuorum         = "no_quorum"
	CodeCycle            = "cycle"
	CodeUIDisabled       = "ui_disabled"
	CodeLayerNotBuilt    = "layer_not_built"
)

// Sentinel errors, one per code.
var (
	ErrInvalidArgument  = errors.New("invalid argument")
	ErrTooLarge         = errors.New("request too large")
	ErrUnauthorized     = errors.New("unauthorized")
	ErrChainUnavailable = errors.New("the chain cannot be written; privileged acts are refused")
	ErrChainCorrupt     = errors.New("the chain is damaged")
	ErrVerification     = errors.New("verification failed")
	ErrNoCheckpoint     = errors.New("no checkpoint covers the event yet")
	ErrNotFound         = errors.New("not found")
	ErrCycle            = errors.New("the edge would close a cycle")
	ErrDenied           = errors.New("denied by governance")
	ErrCapabilityDenied = errors.New("capability denied")
	ErrLimitReached     = errors.New("limit reached")
	ErrUnknownAction    = errors.New("no such pending action")
	ErrStaleAmendment   = errors.New("the constitution changed meanwhile")
	ErrToolTampered     = errors.New("the tool's install record does not match the chain")
	ErrUnknownTool      = errors.New("no such tool")
	ErrToolExists       = errors.New("a tool with that name is installed")
	ErrBadToolPackage   = errors.New("bad tool package")
	ErrFuelExhausted    = errors.New("fuel exhausted")
	ErrMemoryLimit      = errors.New("memory limit")
	ErrTimeout          = errors.New("timeout")
	ErrOutputTooLarge   = errors.New("output too large")
	ErrToolFailed       = errors.New("the tool failed")
	ErrNoProvider       = errors.New("no model provider")
	ErrModelUnavailable = errors.New("the model provider is unavailable")
	ErrInvalidAgent     = errors.New("invalid agent definition")
	ErrUnknownSession   = errors.New("no such session")
	ErrSessionBusy      = errors.New("the session is in use")
	ErrSessionExists    = errors.New("a session with that name exists")
	ErrSessionCorrupt   = errors.New("the session's journal is damaged")
	ErrEmbedderMismatch = errors.New("the memory was embedded with another embedder")
	ErrUnknownToken     = errors.New("no such gateway token")
	ErrUnknownPairing   = errors.New("no pending pairing request has that code")
	ErrShuttingDown     = errors.New("the daemon is shutting down")
	ErrUnknownMCP       = errors.New("no such MCP tool session")
	ErrUnknownApp       = errors.New("no such app")
	ErrAppExists        = errors.New("an app with that name is installed")
	ErrUnknownPublisher = errors.New("no trusted publisher key matches")
	ErrPublisherTrusted = errors.New("the publisher key is already trusted")
	ErrNotInCluster     = errors.New("this node is not in a cluster")
	ErrInCluster        = errors.New("this node is already in a cluster")
	ErrBadToken         = errors.New("bad invite token")
	ErrTokenExpired     = errors.New("the invite token expired")
	ErrTokenUsed        = errors.New("the invite token was already used")
	ErrNodeRemoved      = errors.New("the node was removed from the cluster")
	ErrNoQuorum         = errors.New("the cluster has no reachable leader: nothing can be committed")
	ErrNotMember        = errors.New("not a member of the cluster")
	ErrUnknownNode      = errors.New("no such cluster member")
	ErrJoinRefused      = errors.New("the join was refused")
	ErrUnreachable      = errors.New("the node is unreachable")
	// ErrNotSent: a cross-node request never left this node (the target
	// is not alive, no link): it did not run there.
	ErrNotSent = errors.New("the request was not sent to the node: it did not run there")
	// ErrNoReply: a cross-node request was sent and the node went away
	// (its link closed, it was declared dead) before answering: it may or
	// may not have run there.
	ErrNoReply       = errors.New("the request was sent but the node went away before answering: it may have run")
	ErrUIDisabled    = errors.New("the control UI is off: set [ui] listen in weftos.toml and restart")
	ErrLayerNotBuilt = errors.New("the layer is not built into this binary")
)

var codes = []struct {
	code   string
	err    error
	status int
}{
	{CodeInvalidArgument, ErrInvalidArgument, http.StatusBadRequest},
	{CodeTooLarge, ErrTooLarge, http.StatusRequestEntityTooLarge},
	{CodeUnauthorized, ErrUnauthorized, http.StatusUnauthorized},
	{CodeChainUnavailable, ErrChainUnavailable, http.StatusServiceUnavailable},
	{CodeChainCorrupt, ErrChainCorrupt, http.StatusInternalServerError},
	{CodeVerification, ErrVerification, http.StatusConflict},
	{CodeNoCheckpoint, ErrNoCheckpoint, http.StatusConflict},
	{CodeNotFound, ErrNotFound, http.StatusNotFound},
	{CodeDenied, ErrDenied, http.StatusForbidden},
	{CodeCapabilityDenied, ErrCapabilityDenied, http.StatusForbidden},
	{CodeLimitReached, ErrLimitReached, http.StatusTooManyRequests},
	{CodeUnknownAction, ErrUnknownAction, http.StatusNotFound},
	{CodeStaleAmendment, ErrStaleAmendment, http.StatusConflict},
	{CodeToolTampered, ErrToolTampered, http.StatusConflict},
	{CodeUnknownTool, ErrUnknownTool, http.StatusNotFound},
	{CodeToolExists, ErrToolExists, http.StatusConflict},
	{CodeBadToolPackage, ErrBadToolPackage, http.StatusBadRequest},
	{CodeFuelExhausted, ErrFuelExhausted, http.StatusUnprocessableEntity},
	{CodeMemoryLimit, ErrMemoryLimit, http.StatusUnprocessableEntity},
	{CodeTimeout, ErrTimeout, http.StatusUnprocessableEntity},
	{CodeOutputTooLarge, ErrOutputTooLarge, http.StatusUnprocessableEntity},
	{CodeToolFailed, ErrToolFailed, http.StatusUnprocessableEntity},
	{CodeNoProvider, ErrNoProvider, http.StatusServiceUnavailable},
	{CodeModelUnavailable, ErrModelUnavailable, http.StatusBadGateway},
	{CodeInvalidAgent, ErrInvalidAgent, http.StatusBadRequest},
	{CodeUnknownSession, ErrUnknownSession, http.StatusNotFound},
	{CodeSessionBusy, ErrSessionBusy, http.StatusConflict},
	{CodeSessionExists, ErrSessionExists, http.StatusConflict},
	{CodeSessionCorrupt, ErrSessionCorrupt, http.StatusInternalServerError},
	{CodeEmbedderMismatch, ErrEmbedderMismatch, http.StatusConflict},
	{CodeUnknownToken, ErrUnknownToken, http.StatusNotFound},
	{CodeUnknownPairing, ErrUnknownPairing, http.StatusNotFound},
	{CodeShuttingDown, ErrShuttingDown, http.StatusServiceUnavailable},
	{CodeUnknownMCP, ErrUnknownMCP, http.StatusNotFound},
	{CodeUnknownApp, ErrUnknownApp, http.StatusNotFound},
	{CodeAppExists, ErrAppExists, http.StatusConflict},
	{CodeUnknownPublisher, ErrUnknownPublisher, http.StatusNotFound},
	{CodePublisherTrusted, ErrPublisherTrusted, http.StatusConflict},
	{CodeNotInCluster, ErrNotInCluster, http.StatusConflict},
	{CodeInCluster, ErrInCluster, http.StatusConflict},
	{CodeBadToken, ErrBadToken, http.StatusBadRequest},
	{CodeTokenExpired, ErrTokenExpired, http.StatusGone},
	{CodeTokenUsed, ErrTokenUsed, http.StatusConflict},
	{CodeNodeRemoved, ErrNodeRemoved, http.StatusForbidden},
	{CodeNotMember, ErrNotMember, http.StatusForbidden},
	{CodeUnknownNode, ErrUnknownNode, http.StatusNotFound},
	{CodeJoinRefused, ErrJoinRefused, http.StatusForbidden},
	{CodeUnreachable, ErrUnreachable, http.StatusBadGateway},
	{CodeNotSent, ErrNotSent, http.StatusBadGateway},
	{CodeNoReply, ErrNoReply, http.StatusBadGateway},
	{CodeNoQuorum, ErrNoQuorum, http.StatusServiceUnavailable},
	{CodeCycle, ErrCycle, http.StatusConflict},
	{CodeUIDisabled, ErrUIDisabled, http.StatusConflict},
	{CodeLayerNotBuilt, ErrLayerNotBuilt, http.StatusNotImplemented},
}

// ErrorForCode returns the sentinel error of code, or nil.
func ErrorForCode(code string) error {
	for _, c := range codes {
		if c.code == code {
			return c.err
		}
	}
	return nil
}

// StatusForCode returns the HTTP status that goes with code (500 for a
// code it does not know).
func StatusForCode(code string) int {
	for _, c := range codes {
		if c.code == code {
			return c.status
		}
	}
	return http.StatusInternalServerError
}
