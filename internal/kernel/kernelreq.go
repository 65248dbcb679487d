package kernel

import (
	"context"
	"encoding/json"
	"fmt"
)

// KernelRequest is the JSON payload of a message to the Kernel target.
type KernelRequest struct {
	Op     string        `json:"op"` // ps, spawn, stop, kill, status
	PID    PID           `json:"pid,omitempty"`
	Exited bool          `json:"exited,omitempty"` // ps: include recent exits
	Spawn  *SpawnRequest `json:"spawn,omitempty"`
}

// SpawnRequest asks the kernel to spawn a child of the sender.
type SpawnRequest struct {
	Name string          `json:"name"`
	Kind string          `json:"kind"`
	Args json.RawMessage `json:"args,omitempty"`
	// Caps, when nil, inherits the sender's capabilities.
	Caps *Capabilities `json:"capabilities,omitempty"`
}

// KernelReply is the JSON payload of the kernel's answer.
type KernelReply struct {
	OK        bool    `json:"ok"`
	Error     string  `json:"error,omitempty"`
	Code      string  `json:"code,omitempty"`
	PID       PID     `json:"pid,omitempty"`
	Processes []Info  `json:"processes,omitempty"`
	Status    *Status `json:"status,omitempty"`
}

// Status summarises the kernel.
type Status struct {
	NodeID    string          `json:"node_id"`
	Version   string          `json:"version"`
	Uptime    Millis          `json:"uptime_ms"`
	Processes int             `json:"processes"`
	Services  int             `json:"services"`
	Health    AggregateHealth `json:"health"`
	DLQ       int             `json:"dead_letters"`
	CronJobs  int             `json:"cron_jobs"`
}

// Status returns the kernel's status.
func (k *Kernel) Status() Status {
	return Status{NodeID: k.cfg.NodeID, Version: k.cfg.Version, Uptime: Millis(k.Uptime()), Processes: k.Count(),
		Services: len(k.Services()), Health: k.Health(), DLQ: len(k.dlq.list()), CronJobs: len(k.CronJobs())}
}

// handleKernelRequest answers a message addressed to the Kernel target. The
// reply goes back to the sender correlated with the request; errors in the
// request are answered too (and returned to the sender).
func (k *Kernel) handleKernelRequest(ctx context.Context, env *Envelope) error {
	if env.Payload.Kind != PayloadJSON {
		return fmt.Errorf("%w: the kernel takes JSON requests, got %s", ErrBadKernelRequest, env.Payload.Kind)
	}
	var req KernelRequest
	if err := json.Unmarshal(env.Payload.JSON, &req); err != nil {
		return fmt.Errorf("%w: %v", ErrBadKernelRequest, err)
	}
	reply, err := k.answer(ctx, env.From, req)
	if err != nil {
		reply = KernelReply{Error: err.Error(), Code: Code(err)}
	}
	b, merr := json.Marshal(reply)
	if merr != nil {
		return fmt.Errorf("kernel reply: %w", merr)
	}
	r := &Envelope{ID: k.msgID.Add(1), From: KernelPID, Target: ToProcess(env.From), Payload: JSONPayload(b),
		CorrelationID: env.ID, TraceID: env.TraceID, Timestamp: k.clock.Now()}
	if env.From != KernelPID || env.ReplyTo {
		_ = k.deliver(ctx, r, false)
	}
	if env.ReplyTo {
		return nil // the requester gets the error in the reply
	}
	return err
}

func (k *Kernel) answer(ctx context.Context, from PID, req KernelRequest) (KernelReply, error) {
	ok := KernelReply{OK: true}
	switch req.Op {
	case "ps":
		ok.Processes = k.PS(req.Exited)
	case "status":
		st := k.Status()
		ok.Status = &st
	case "spawn":
		if req.Spawn == nil {
			return KernelReply{}, fmt.Errorf("%w: spawn needs a spawn object", ErrBadKernelRequest)
		}
		spec := SpawnSpec{Name: req.Spawn.Name, Kind: req.Spawn.Kind, Args: req.Spawn.Args, Parent: from, InheritCaps: req.Spawn.Caps == nil}
		if req.Spawn.Caps != nil {
			spec.Caps = *req.Spawn.Caps
		}
		pid, err := k.Spawn(ctx, spec)
		if err != nil {
			return KernelReply{}, err
		}
		ok.PID = pid
	case "stop", "kill":
		if err := k.Control(ctx, from, req.PID, req.Op); err != nil {
			return KernelReply{}, err
		}
		ok.PID = req.PID
	default:
		return KernelReply{}, fmt.Errorf("%w: unknown op %q (want ps, spawn, stop, kill or status)", ErrBadKernelRequest, req.Op)
	}
	return ok, nil
}
