package kernel

import (
	"fmt"
	"strconv"
)

// PID identifies a process. PIDs are allocated monotonically and never
// reused; PID 0 is the kernel itself.
type PID uint64

// KernelPID is the PID of the kernel process.
const KernelPID PID = 0

func (p PID) String() string { return strconv.FormatUint(uint64(p), 10) }

// State is a process's lifecycle state.
type State uint8

// Process states. The legal transitions are
//
//	Starting  → Running | Stopping | Exited
//	Running   → Suspended | Stopping | Exited
//	Suspended → Running | Stopping | Exited
//	Stopping  → Exited
//
// Exited is terminal.
const (
	StateStarting State = iota
	StateRunning
	StateSuspended
	StateStopping
	StateExited
)

var stateNames = [...]string{"starting", "running", "suspended", "stopping", "exited"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// ParseState parses the lower-case name of a state.
func ParseState(s string) (State, error) {
	for i, n := range stateNames {
		if n == s {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("kernel: unknown process state %q", s)
}

// MarshalText implements encoding.TextMarshaler.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *State) UnmarshalText(b []byte) error {
	v, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// CanTransition reports whether a process may move from s to next.
func (s State) CanTransition(next State) bool {
	switch s {
	case StateStarting:
		return next == StateRunning || next == StateStopping || next == StateExited
	case StateRunning:
		return next == StateSuspended || next == StateStopping || next == StateExited
	case StateSuspended:
		return next == StateRunning || next == StateStopping || next == StateExited
	case StateStopping:
		return next == StateExited
	default:
		return false
	}
}

// IllegalTransitionError reports an attempt to move a process between two
// states that are not connected. It matches ErrIllegalTransition.
type IllegalTransitionError struct {
	PID      PID
	From, To State
}

func (e *IllegalTransitionError) Error() string {
	return fmt.Sprintf("kernel: process %d: illegal transition %s → %s", e.PID, e.From, e.To)
}

// Is makes errors.Is(err, ErrIllegalTransition) true.
func (e *IllegalTransitionError) Is(target error) bool { return target == ErrIllegalTransition }
