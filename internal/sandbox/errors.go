package sandbox

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on with errors.Is. Errors returned by Run
// are *RunError values whose Is method matches their Kind.
var (
	// ErrFuelExhausted: the run used more fuel than its budget.
	ErrFuelExhausted = errors.New("fuel exhausted")
	// ErrMemoryLimit: the module asked for more linear memory than the
	// run's cap, or the run asked for more than the sandbox maximum.
	ErrMemoryLimit = errors.New("memory limit exceeded")
	// ErrTimeout: the wall-clock timeout expired.
	ErrTimeout = errors.New("timeout")
	// ErrOutputTooLarge: stdout or stderr exceeded its cap.
	ErrOutputTooLarge = errors.New("output too large")
	// ErrTrap: the module trapped (unreachable, out-of-bounds access, …).
	ErrTrap = errors.New("trap")
	// ErrExit: the module exited with a non-zero exit code.
	ErrExit = errors.New("non-zero exit")
	// ErrBadModule: the bytes are not a module the sandbox can run.
	ErrBadModule = errors.New("bad module")
	// ErrImportNotAllowed: the module imports something not offered.
	ErrImportNotAllowed = errors.New("import not allowed")
	// ErrInvalidSpec: the RunSpec is invalid (bad mount, zero fuel, …).
	ErrInvalidSpec = errors.New("invalid run spec")
	// ErrClosed: the Runtime was closed.
	ErrClosed = errors.New("sandbox closed")
	// ErrFetchDenied may be returned by Host.Fetch to report a policy
	// denial; the guest sees FetchErrDenied instead of FetchErrFailed.
	ErrFetchDenied = errors.New("fetch denied")
)

// RunError describes why a run failed. Kind is one of the sentinel errors
// above; FuelUsed is the fuel charged up to the failure (exact and
// deterministic for ErrFuelExhausted).
type RunError struct {
	Kind     error
	FuelUsed int64
	// Budget is the run's fuel budget.
	Budget int64
	// ExitCode is set for ErrExit.
	ExitCode uint32
	// Detail is a human-readable explanation (the trap message, the stream
	// that overflowed, …).
	Detail string
	// Err is the underlying error, if any.
	Err error
}

// Error returns a one-line description naming the cause.
func (e *RunError) Error() string {
	var msg string
	switch e.Kind {
	case ErrFuelExhausted:
		msg = fmt.Sprintf("sandbox: %v: used %d of %d", e.Kind, e.FuelUsed, e.Budget)
	case ErrExit:
		msg = fmt.Sprintf("sandbox: exit code %d", e.ExitCode)
	default:
		msg = fmt.Sprintf("sandbox: %v", e.Kind)
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Is reports whether target is e's Kind.
func (e *RunError) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying error.
func (e *RunError) Unwrap() error { return e.Err }
