// Package kernelauth bridges the kernel and the authority pipeline: who a
// process (or the operator) is as the subject of an act, and how kernel
// refusals and authority refusals map onto each other, so every component
// that acts for a process (the agent host, the WASM tool host, the daemon's
// handlers) describes and refuses acts the same way.
package kernelauth

import (
	"errors"
	"fmt"

	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/kernel"
)

// Operator is the subject of acts asked through the local API.
func Operator() authority.Subject {
	return authority.Operator(append(kernel.RootCapabilities().Names(), "gov.amend"))
}

// SubjectOf is the subject of acts a process does.
func SubjectOf(p *kernel.Process, session string) authority.Subject {
	return authority.Subject{Agent: p.Name(), PID: uint64(p.PID()), Caps: p.Capabilities().Names(), Session: session}
}

// KernelErr maps a kernel refusal to the authority stage it belongs to.
func KernelErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kernel.ErrLimit):
		return fmt.Errorf("%w: %w", authority.ErrLimit, err)
	case errors.Is(err, kernel.ErrCapability), errors.Is(err, kernel.ErrScope), errors.Is(err, kernel.ErrCapabilityExceeds):
		return fmt.Errorf("%w: %w", authority.ErrCapability, err)
	case errors.Is(err, kernel.ErrInvalid):
		return fmt.Errorf("%w: %w", authority.ErrInput, err)
	}
	return fmt.Errorf("%w: %w", authority.ErrConflict, err)
}

// AsKernel maps an authority refusal back to the kernel's sentinels, so
// API clients and agents keep branching on stable codes.
func AsKernel(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kernel.ErrDenied), errors.Is(err, kernel.ErrCapability), errors.Is(err, kernel.ErrLimit), errors.Is(err, kernel.ErrInvalid):
		return err
	case errors.Is(err, authority.ErrLedger):
		return fmt.Errorf("%w: %w", kernel.ErrDenied, err)
	case errors.Is(err, authority.ErrDenied):
		return fmt.Errorf("%w: %w", kernel.ErrDenied, err)
	case errors.Is(err, authority.ErrCapability):
		return fmt.Errorf("%w: %w", kernel.ErrCapability, err)
	case errors.Is(err, authority.ErrLimit):
		return fmt.Errorf("%w: %w", kernel.ErrLimit, err)
	case errors.Is(err, authority.ErrInput):
		return fmt.Errorf("%w: %w", kernel.ErrInvalid, err)
	}
	return err
}
