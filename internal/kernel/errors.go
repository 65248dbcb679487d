package kernel

import "errors"

// Sentinel errors callers branch on. Each has a stable code (see [Code]) used
// at the API boundary.
var (
	ErrUnknownPID         = errors.New("kernel: no such process")
	ErrIllegalTransition  = errors.New("kernel: illegal state transition")
	ErrScope              = errors.New("kernel: IPC scope does not allow this target")
	ErrInboxFull          = errors.New("kernel: inbox full")
	ErrCapability         = errors.New("kernel: capability denied")
	ErrCapabilityExceeds  = errors.New("kernel: requested capabilities exceed the parent's")
	ErrLimit              = errors.New("kernel: resource limit reached")
	ErrMaxProcesses       = errors.New("kernel: process table full")
	ErrMeshNotEnabled     = errors.New("kernel: mesh not enabled: remote targets need the mesh layer")
	ErrUnknownService     = errors.New("kernel: no such service")
	ErrUnknownMethod      = errors.New("kernel: service has no such method")
	ErrServiceExists      = errors.New("kernel: service already registered")
	ErrServiceNotIPC      = errors.New("kernel: service does not take IPC messages")
	ErrDeadline           = errors.New("kernel: request deadline exceeded")
	ErrNotRunning         = errors.New("kernel: process is not running")
	ErrClosed             = errors.New("kernel: kernel is shut down")
	ErrDenied             = errors.New("kernel: denied by governance")
	ErrInvalid            = errors.New("kernel: invalid argument")
	ErrUnknownJob         = errors.New("kernel: no such cron job")
	ErrUnknownHandler     = errors.New("kernel: no such process kind")
	ErrBadKernelRequest   = errors.New("kernel: bad kernel request")
	ErrSuspended          = errors.New("kernel: process is suspended")
	ErrNoResponder        = errors.New("kernel: no process answers this request")
	ErrRestartBudget      = errors.New("kernel: supervisor restart budget exhausted")
	ErrUnknownSupervisor  = errors.New("kernel: no such supervisor")
	ErrChildSpecDuplicate = errors.New("kernel: duplicate child id in supervisor spec")
)

var codes = []struct {
	err  error
	code string
}{
	{ErrUnknownPID, "unknown_pid"},
	{ErrIllegalTransition, "illegal_transition"},
	{ErrScope, "scope_violation"},
	{ErrInboxFull, "inbox_full"},
	{ErrCapabilityExceeds, "capability_exceeds_parent"},
	{ErrCapability, "capability_denied"},
	{ErrLimit, "limit_reached"},
	{ErrMaxProcesses, "max_processes"},
	{ErrMeshNotEnabled, "mesh_not_enabled"},
	{ErrUnknownService, "unknown_service"},
	{ErrUnknownMethod, "unknown_method"},
	{ErrServiceExists, "service_exists"},
	{ErrServiceNotIPC, "service_not_ipc"},
	{ErrDeadline, "deadline_exceeded"},
	{ErrNotRunning, "not_running"},
	{ErrClosed, "kernel_closed"},
	{ErrDenied, "denied"},
	{ErrInvalid, "invalid_argument"},
	{ErrUnknownJob, "unknown_job"},
	{ErrUnknownHandler, "unknown_kind"},
	{ErrBadKernelRequest, "bad_kernel_request"},
	{ErrSuspended, "suspended"},
	{ErrNoResponder, "no_responder"},
	{ErrRestartBudget, "restart_budget"},
	{ErrUnknownSupervisor, "unknown_supervisor"},
	{ErrChildSpecDuplicate, "duplicate_child"},
}

// Code returns the stable error code for err ("" when err is nil, "internal"
// when err matches no kernel sentinel).
func Code(err error) string {
	if err == nil {
		return ""
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "internal"
}

// ErrorForCode returns the sentinel error with the given code, or nil.
func ErrorForCode(code string) error {
	for _, c := range codes {
		if c.code == code {
			return c.err
		}
	}
	return nil
}
