package kernel

import (
	"context"
	"fmt"
	"strconv"
)

// act names the governed decision behind an operation; the kernel puts it
// in the event that records the operation so an auditor can pair them.
type act struct {
	action, id, agent string
}

// Control operations.
const (
	OpStop    = "stop"
	OpKill    = "kill"
	OpSuspend = "suspend"
	OpResume  = "resume"
)

// Control applies op (stop, kill, suspend or resume) to pid on behalf of
// actor (KernelPID for the node's operator). It is a privileged
// operation: actor must be the kernel or an ancestor of pid, and the gate
// decides "process.OP" before anything changes; the process.state event
// that follows carries the decision's action id.
func (k *Kernel) Control(ctx context.Context, actor, pid PID, op string) error {
	var apply func(PID, *act) error
	switch op {
	case OpStop:
		apply = k.stop
	case OpKill:
		apply = k.kill
	case OpSuspend:
		apply = k.suspend
	case OpResume:
		apply = k.resume
	default:
		return fmt.Errorf("%w: unknown control operation %q (want stop, kill, suspend or resume)", ErrInvalid, op)
	}
	from, err := k.lookup(actor)
	if err != nil {
		return fmt.Errorf("%s %d: %w", op, pid, err)
	}
	p, err := k.target(pid)
	if err != nil {
		return err
	}
	req := GateRequest{Action: "process." + op, PID: from.pid, Name: from.name, Caps: from.Capabilities(),
		Context: map[string]string{"target_pid": strconv.FormatUint(uint64(pid), 10), "target_name": p.name, "target_kind": p.kind}}
	if !k.isAncestor(actor, p) {
		return k.refused(ctx, req, fmt.Errorf("%w: process %d may not %s %d (not an ancestor)", ErrCapability, actor, op, pid))
	}
	id, err := k.gate(ctx, req)
	if err != nil {
		return fmt.Errorf("%s %d: %w", op, pid, err)
	}
	return apply(pid, &act{action: req.Action, id: id, agent: from.name})
}
