package kernel

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// EventKind names a kernel event, e.g. "process.spawn". Kinds are grouped by
// prefix: process.*, ipc.*, service.*, cron.*, supervisor.*, kernel.*.
type EventKind string

// Kernel event kinds.
const (
	EventBoot              EventKind = "kernel.boot"
	EventShutdown          EventKind = "kernel.shutdown"
	EventConfigReload      EventKind = "kernel.config_reload"
	EventProcessSpawn      EventKind = "process.spawn"
	EventProcessState      EventKind = "process.state"
	EventProcessExit       EventKind = "process.exit"
	EventProcessLimit      EventKind = "process.limit"
	EventProcessElevate    EventKind = "process.elevate"
	EventIPCSend           EventKind = "ipc.send"
	EventIPCDeadLetter     EventKind = "ipc.dead_letter"
	EventServiceRegister   EventKind = "service.register"
	EventServiceRemove     EventKind = "service.unregister"
	EventServiceHealth     EventKind = "service.health"
	EventCronAdd           EventKind = "cron.add"
	EventCronRemove        EventKind = "cron.remove"
	EventCronFire          EventKind = "cron.fire"
	EventSupervisorRestart EventKind = "supervisor.restart"
	EventSupervisorGiveUp  EventKind = "supervisor.give_up"
	EventSupervisorChild   EventKind = "supervisor.start_child"
	EventGovernance        EventKind = "governance.denied"
)

// Event is something the kernel did. Data holds a JSON-marshalable struct
// specific to the kind (see the *Event types in this file); it never holds
// IPC payload content, only its size and, for ipc.send, the payload itself
// in Payload so that a recorder may hash it.
type Event struct {
	Kind EventKind
	Time time.Time
	PID  PID
	Data any
	// Payload is the IPC payload for ipc.* events, for recorders that hash
	// or (when configured) store it. Nil for other kinds.
	Payload *Payload
}

// ProcessSpawnEvent is the Data of process.spawn.
type ProcessSpawnEvent struct {
	PID    PID          `json:"pid"`
	Parent PID          `json:"parent"`
	Name   string       `json:"name"`
	Kind   string       `json:"kind"`
	Caps   Capabilities `json:"capabilities"`
	// Action, ActionID and Agent (the acting parent's name) pair the spawn
	// with the governance decision that allowed it; ActionID is empty when
	// no gate is installed.
	Action   string `json:"action"`
	ActionID string `json:"action_id,omitempty"`
	Agent    string `json:"agent,omitempty"`
}

// ProcessStateEvent is the Data of process.state. Action, ActionID and
// Agent are set when the change was a gated control operation (stop, kill,
// suspend, resume asked by the operator or an ancestor).
type ProcessStateEvent struct {
	PID      PID    `json:"pid"`
	From     State  `json:"from"`
	To       State  `json:"to"`
	Why      string `json:"why,omitempty"`
	Action   string `json:"action,omitempty"`
	ActionID string `json:"action_id,omitempty"`
	Agent    string `json:"agent,omitempty"`
}

// ProcessExitEvent is the Data of process.exit.
type ProcessExitEvent struct {
	PID    PID    `json:"pid"`
	Name   string `json:"name"`
	Code   int    `json:"code"`
	Reason string `json:"reason,omitempty"`
}

// IPCEvent is the Data of ipc.send and ipc.dead_letter.
type IPCEvent struct {
	ID            uint64 `json:"id"`
	From          PID    `json:"from"`
	Target        string `json:"target"`
	PayloadKind   string `json:"payload_kind"`
	Size          int    `json:"size"`
	CorrelationID uint64 `json:"correlation_id,omitempty"`
	TraceID       string `json:"trace_id,omitempty"`
	Reason        string `json:"reason,omitempty"`
	// Action and ActionID are set on sends to the Kernel target, which are
	// gated; Agent is the sender's name.
	Action   string `json:"action,omitempty"`
	ActionID string `json:"action_id,omitempty"`
	Agent    string `json:"agent,omitempty"`
}

// ServiceEvent is the Data of service.register and service.unregister.
// Action, ActionID and Agent (the acting process's name) are set when the
// change was a governed act (RegisterServiceAs, UnregisterServiceAs);
// Reason says why a service went away ("unregistered", "owner exited").
type ServiceEvent struct {
	Name    string   `json:"name"`
	Type    string   `json:"type,omitempty"`
	Owner   PID      `json:"owner"`
	Methods []string `json:"methods,omitempty"`
	// Idempotent are the methods declared idempotent (service.register).
	Idempotent []string `json:"idempotent,omitempty"`
	Reason     string   `json:"reason,omitempty"`
	Action     string   `json:"action,omitempty"`
	ActionID   string   `json:"action_id,omitempty"`
	Agent      string   `json:"agent,omitempty"`
}

// SupervisorChildEvent is the Data of supervisor.start_child: a supervisor
// started a child, for the first time (Restarts 0, Previous 0) or again
// after an exit (Previous is the PID that exited).
type SupervisorChildEvent struct {
	Supervisor PID    `json:"supervisor"`
	Child      string `json:"child"`
	PID        PID    `json:"pid"`
	Previous   PID    `json:"previous_pid,omitempty"`
	Restart    string `json:"restart"`
	Restarts   int    `json:"restarts"`
}

// Bus fans kernel events out to subscribers. Subscribers are called
// synchronously, in the publisher's goroutine, outside kernel locks; they
// must be quick (queue the event) and may block only to apply backpressure.
type Bus struct {
	mu   sync.Mutex
	subs atomic.Pointer[[]*subscriber]
	next uint64
}

type subscriber struct {
	id uint64
	fn func(Event)
}

// Subscribe registers fn for every event and returns a func that removes it.
func (b *Bus) Subscribe(fn func(Event)) (unsubscribe func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	s := &subscriber{id: b.next, fn: fn}
	var cur []*subscriber
	if p := b.subs.Load(); p != nil {
		cur = *p
	}
	next := append(append([]*subscriber(nil), cur...), s)
	b.subs.Store(&next)
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		p := b.subs.Load()
		if p == nil {
			return
		}
		out := make([]*subscriber, 0, len(*p))
		for _, x := range *p {
			if x != s {
				out = append(out, x)
			}
		}
		b.subs.Store(&out)
	}
}

// Active reports whether anyone listens, so publishers can skip building
// events nobody reads.
func (b *Bus) Active() bool {
	p := b.subs.Load()
	return p != nil && len(*p) > 0
}

// Publish delivers ev to every subscriber.
func (b *Bus) Publish(ev Event) {
	p := b.subs.Load()
	if p == nil {
		return
	}
	for _, s := range *p {
		s.fn(ev)
	}
}

// Millis is a duration that appears in JSON as whole milliseconds, under
// a field name ending in _ms: durations are typed in JSON output and human
// only in tables.
type Millis time.Duration

// MarshalJSON implements json.Marshaler.
func (m Millis) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatInt(time.Duration(m).Milliseconds(), 10)), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (m *Millis) UnmarshalJSON(b []byte) error {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: a duration in milliseconds: %s", ErrInvalid, b)
	}
	*m = Millis(time.Duration(n) * time.Millisecond)
	return nil
}

// Duration returns m as a time.Duration.
func (m Millis) Duration() time.Duration { return time.Duration(m) }
