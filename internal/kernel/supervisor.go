package kernel

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Strategy says which children a supervisor restarts when one exits.
type Strategy uint8

// Supervision strategies, with Erlang's meaning.
const (
	OneForOne  Strategy = iota // restart only the child that exited
	OneForAll                  // restart every child
	RestForOne                 // restart the child and those started after it
)

func (s Strategy) String() string {
	return [...]string{"one_for_one", "one_for_all", "rest_for_one"}[s%3]
}

// ParseStrategy parses one_for_one, one_for_all or rest_for_one.
func ParseStrategy(s string) (Strategy, error) {
	switch strings.ReplaceAll(strings.ToLower(s), "-", "_") {
	case "one_for_one", "":
		return OneForOne, nil
	case "one_for_all":
		return OneForAll, nil
	case "rest_for_one":
		return RestForOne, nil
	}
	return 0, fmt.Errorf("%w: unknown strategy %q", ErrInvalid, s)
}

// RestartType says when a child is restarted.
type RestartType uint8

// Restart types, with Erlang's meaning.
const (
	Permanent RestartType = iota // always
	Transient                    // only after an abnormal exit (code ≠ 0)
	Temporary                    // never
)

func (r RestartType) String() string { return [...]string{"permanent", "transient", "temporary"}[r%3] }

// ParseRestartType parses permanent, transient or temporary.
func ParseRestartType(s string) (RestartType, error) {
	switch strings.ToLower(s) {
	case "permanent":
		return Permanent, nil
	case "transient":
		return Transient, nil
	case "temporary":
		return Temporary, nil
	}
	return 0, fmt.Errorf("%w: unknown restart type %q (want permanent, transient or temporary)", ErrInvalid, s)
}

// ChildSpec describes a supervised child.
type ChildSpec struct {
	ID          string
	Name        string
	Kind        string
	Args        json.RawMessage
	Handler     Handler
	Caps        Capabilities
	InheritCaps bool
	Restart     RestartType
}

// SupervisorSpec describes a supervisor. Zero values pick the defaults: a
// budget of 5 restarts in 60 s and a backoff from 100 ms doubling to 30 s.
type SupervisorSpec struct {
	Name           string
	Parent         PID
	Strategy       Strategy
	Children       []ChildSpec
	MaxRestarts    int
	Window         time.Duration
	BackoffInitial time.Duration
	BackoffMax     time.Duration
}

type supervisorTable struct{}

func (supervisorTable) init() {}

// StartSupervisor spawns a supervisor process (kind "supervisor") that
// starts the children in order and keeps them running according to the
// strategy. When the restart budget is exhausted it stops every child and
// exits with code 1 (escalating to its own supervisor, if any).
func (k *Kernel) StartSupervisor(ctx context.Context, spec SupervisorSpec) (PID, error) {
	seen := map[string]bool{}
	for _, c := range spec.Children {
		if c.ID == "" || seen[c.ID] {
			return 0, fmt.Errorf("%w: %q", ErrChildSpecDuplicate, c.ID)
		}
		seen[c.ID] = true
	}
	if spec.MaxRestarts <= 0 {
		spec.MaxRestarts = 5
	}
	if spec.Window <= 0 {
		spec.Window = 60 * time.Second
	}
	if spec.BackoffInitial <= 0 {
		spec.BackoffInitial = 100 * time.Millisecond
	}
	if spec.BackoffMax <= 0 {
		spec.BackoffMax = 30 * time.Second
	}
	s := &supervisor{k: k, spec: spec, children: make([]*supChild, len(spec.Children))}
	for i := range spec.Children {
		s.children[i] = &supChild{spec: spec.Children[i]}
	}
	name := spec.Name
	if name == "" {
		name = "supervisor"
	}
	return k.Spawn(ctx, SpawnSpec{Name: name, Parent: spec.Parent, Kind: "supervisor", Handler: s, InheritCaps: true})
}

type supervisor struct {
	k    *Kernel
	spec SupervisorSpec
	self *Process

	mu       sync.Mutex
	children []*supChild
	adding   map[string]bool // ids StartChild is starting
	stopping bool            // stopAll ran: no child is added any more
	restarts []time.Time
	timers   []interface{ Stop() bool }
}

type supChild struct {
	spec     ChildSpec
	pid      PID
	last     PID // the PID of its previous instance, for start_child events
	started  time.Time
	failures int // consecutive quick failures, for backoff
	restarts int
	gone     bool // temporary child that exited, or removed
}

type restartMsg struct {
	Type     string   `json:"type"`
	Children []string `json:"children"`
}

// SupervisorChild is one child in a supervisor's inspect detail.
type SupervisorChild struct {
	ID       string `json:"id"`
	PID      PID    `json:"pid"`
	Restart  string `json:"restart"`
	Restarts int    `json:"restarts"`
	Running  bool   `json:"running"`
}

// Inspect implements Inspector.
func (s *supervisor) Inspect() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{"strategy": s.spec.Strategy.String(), "max_restarts": s.spec.MaxRestarts, "window_ms": Millis(s.spec.Window)}
	var cs []SupervisorChild
	for _, c := range s.children {
		cs = append(cs, SupervisorChild{ID: c.spec.ID, PID: c.pid, Restart: c.spec.Restart.String(), Restarts: c.restarts, Running: c.pid != 0})
	}
	out["children"] = cs
	return out
}

func (s *supervisor) Run(ctx context.Context, p *Process) error {
	s.mu.Lock()
	s.self = p
	// The children of the spec; those StartChild added before Run began
	// are running already.
	var initial []*supChild
	for _, c := range s.children {
		if c.pid == 0 && !c.gone {
			initial = append(initial, c)
		}
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		for _, t := range s.timers {
			t.Stop()
		}
		s.mu.Unlock()
	}()
	for _, c := range initial {
		if err := s.start(ctx, c); err != nil {
			s.stopAll(ctx)
			return &ExitError{Code: 1, Reason: fmt.Sprintf("child %s failed to start: %v", c.spec.ID, err)}
		}
	}
	for {
		env, err := p.Receive(ctx)
		if err != nil {
			s.stopAll(context.Background())
			return nil
		}
		if env.Payload.Kind == PayloadSignal && env.Payload.Signal == SignalShutdown {
			s.stopAll(ctx)
			return nil
		}
		if pid, code, reason, ok := DownMessage(env); ok {
			if err := s.childDown(ctx, pid, code, reason); err != nil {
				return err
			}
			continue
		}
		var rm restartMsg
		if env.From == p.pid && env.Payload.Kind == PayloadJSON && json.Unmarshal(env.Payload.JSON, &rm) == nil && rm.Type == "restart" {
			for _, id := range rm.Children {
				if c := s.child(id); c != nil && s.waiting(c) {
					if err := s.start(ctx, c); err != nil {
						// A restart that fails (refused, its kind
						// cannot start) is a failure like an exit: it
						// is tried again with backoff, within budget.
						s.k.log.Warn("supervisor: restart failed", "supervisor", p.pid, "child", id, "err", err)
						if err := s.restartFailed(ctx, c, err); err != nil {
							return err
						}
					}
				}
			}
		}
	}
}

func (s *supervisor) child(id string) *supChild {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.childLocked(id)
}

func (s *supervisor) childLocked(id string) *supChild {
	for _, c := range s.children {
		if c.spec.ID == id {
			return c
		}
	}
	return nil
}

// waiting reports whether c waits for a scheduled restart.
func (s *supervisor) waiting(c *supChild) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.pid == 0 && !c.gone
}

// start starts c as a child of the supervisor process self.
func (s *supervisor) start(ctx context.Context, c *supChild) error {
	child, err := s.spawnChild(ctx, s.self, c.spec, func(pid PID) {
		s.mu.Lock()
		c.pid = pid
		s.mu.Unlock()
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	c.pid, c.started = child.pid, s.k.clock.Now()
	ev := SupervisorChildEvent{Supervisor: s.self.pid, Child: c.spec.ID, PID: child.pid, Previous: c.last, Restart: c.spec.Restart.String(), Restarts: c.restarts}
	c.last = child.pid
	s.mu.Unlock()
	s.k.publish(Event{Kind: EventSupervisorChild, PID: s.self.pid, Data: ev})
	// Monitoring after c.pid is set: the down message, even for a child
	// that has already exited, is handled once c.pid names it.
	return s.k.Monitor(s.self.pid, child.pid)
}

func (s *supervisor) spawnChild(ctx context.Context, self *Process, spec ChildSpec, assigned func(PID)) (*Process, error) {
	name := spec.Name
	if name == "" {
		name = spec.ID
	}
	return s.k.spawn(ctx, SpawnSpec{Name: name, Parent: self.pid, Kind: spec.Kind, Args: spec.Args,
		Handler: spec.Handler, Caps: spec.Caps, InheritCaps: spec.InheritCaps, assigned: assigned})
}

// StartChild adds a child to the running supervisor sup and starts it
// (Erlang's supervisor:start_child): from then on the supervisor restarts
// it according to its restart type and the supervisor's strategy, as it
// does the children it started with. The spawn is gated like any spawn
// by the supervisor. An id already in use is refused, unless its child
// has gone for good (a temporary child that exited, a transient one that
// exited normally, a removed one): it is then replaced.
func (k *Kernel) StartChild(ctx context.Context, sup PID, spec ChildSpec) (PID, error) {
	p, s, err := k.supervisorOf(sup)
	if err != nil {
		return 0, err
	}
	if spec.ID == "" {
		return 0, fmt.Errorf("%w: a child needs an id", ErrInvalid)
	}
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return 0, fmt.Errorf("%w: supervisor %d is stopping", ErrNotRunning, sup)
	}
	if c := s.childLocked(spec.ID); (c != nil && !c.gone) || s.adding[spec.ID] {
		s.mu.Unlock()
		return 0, fmt.Errorf("%w: %q in supervisor %d", ErrChildSpecDuplicate, spec.ID, sup)
	}
	if s.adding == nil {
		s.adding = map[string]bool{}
	}
	s.adding[spec.ID] = true
	s.mu.Unlock()
	// The child joins the list only once it runs, so a restart of other
	// children meanwhile does not start it a second time.
	child, err := s.spawnChild(ctx, p, spec, nil)
	s.mu.Lock()
	delete(s.adding, spec.ID)
	if err != nil {
		s.mu.Unlock()
		return 0, err
	}
	if s.stopping {
		s.mu.Unlock()
		_ = k.Kill(child.pid)
		return 0, fmt.Errorf("%w: supervisor %d is stopping", ErrNotRunning, sup)
	}
	c := &supChild{spec: spec, pid: child.pid, last: child.pid, started: k.clock.Now()}
	if i := slices.IndexFunc(s.children, func(x *supChild) bool { return x.spec.ID == spec.ID }); i >= 0 {
		s.children[i] = c
	} else {
		s.children = append(s.children, c)
	}
	s.mu.Unlock()
	k.publish(Event{Kind: EventSupervisorChild, PID: sup, Data: SupervisorChildEvent{Supervisor: sup, Child: spec.ID, PID: child.pid, Restart: spec.Restart.String()}})
	if err := k.Monitor(sup, child.pid); err != nil {
		return child.pid, err
	}
	return child.pid, nil
}

// RemoveChild makes the supervisor sup forget the child id: it is not
// restarted any more (a restart already scheduled is dropped). It returns
// the child's running PID (0 when it is not running), which the caller
// stops, with the authority that takes.
func (k *Kernel) RemoveChild(sup PID, id string) (PID, error) {
	_, s, err := k.supervisorOf(sup)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.childLocked(id)
	if c == nil || c.gone {
		return 0, fmt.Errorf("%w: supervisor %d has no child %q", ErrInvalid, sup, id)
	}
	pid := c.pid
	c.gone, c.pid = true, 0
	return pid, nil
}

// supervisorOf returns the live supervisor process sup and its state.
func (k *Kernel) supervisorOf(sup PID) (*Process, *supervisor, error) {
	p, err := k.lookup(sup)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %d: %w", ErrUnknownSupervisor, sup, err)
	}
	s, ok := p.handler.(*supervisor)
	if !ok {
		return nil, nil, fmt.Errorf("%w: process %d is a %s", ErrUnknownSupervisor, sup, p.kind)
	}
	return p, s, nil
}

// childDown reacts to a child's exit. A nil return keeps supervising.
func (s *supervisor) childDown(ctx context.Context, pid PID, code int, reason string) error {
	var idx = -1
	s.mu.Lock()
	for i, c := range s.children {
		if c.pid == pid && pid != 0 {
			idx = i
		}
	}
	if idx < 0 {
		s.mu.Unlock()
		return nil // a child we stopped on purpose, or not ours
	}
	return s.exitedLocked(ctx, idx, pid, code, reason)
}

// restartFailed handles a failed restart of c as an exit.
func (s *supervisor) restartFailed(ctx context.Context, c *supChild, err error) error {
	s.mu.Lock()
	idx := slices.Index(s.children, c)
	if idx < 0 || c.gone || c.pid != 0 {
		s.mu.Unlock()
		return nil
	}
	return s.exitedLocked(ctx, idx, 0, ExitError1, "restart failed: "+err.Error())
}

// exitedLocked applies the restart policy to the child at idx, which
// exited (pid, code, reason). It is called with s.mu held and releases
// it. A nil return keeps supervising.
func (s *supervisor) exitedLocked(ctx context.Context, idx int, pid PID, code int, reason string) error {
	c := s.children[idx]
	ran := s.k.clock.Now().Sub(c.started)
	c.pid = 0
	restart := c.spec.Restart == Permanent || (c.spec.Restart == Transient && code != ExitOK)
	if !restart {
		c.gone = c.spec.Restart == Temporary || code == ExitOK
		s.mu.Unlock()
		return nil
	}
	now := s.k.clock.Now()
	kept := s.restarts[:0]
	for _, t := range s.restarts {
		if now.Sub(t) < s.spec.Window {
			kept = append(kept, t)
		}
	}
	s.restarts = append(kept, now)
	if len(s.restarts) > s.spec.MaxRestarts {
		s.mu.Unlock()
		s.k.publish(Event{Kind: EventSupervisorGiveUp, PID: s.self.pid, Data: map[string]any{"supervisor": s.self.pid, "child": c.spec.ID, "restarts": s.spec.MaxRestarts, "window": s.spec.Window.String()}})
		s.stopAll(ctx)
		return &ExitError{Code: 1, Reason: fmt.Sprintf("restart budget exhausted: %d restarts in %s (last: child %s exited %d: %s)", s.spec.MaxRestarts, s.spec.Window, c.spec.ID, code, reason)}
	}
	if ran >= s.spec.Window {
		c.failures = 0
	}
	c.failures++
	delay := s.spec.BackoffInitial << min(c.failures-1, 30)
	if delay > s.spec.BackoffMax || delay <= 0 {
		delay = s.spec.BackoffMax
	}
	group := []*supChild{c}
	switch s.spec.Strategy {
	case OneForAll:
		group = s.children
	case RestForOne:
		group = s.children[idx:]
	}
	var ids []string
	var stop []PID
	for _, g := range group {
		if g.gone {
			continue
		}
		g.restarts++
		ids = append(ids, g.spec.ID)
		if g.pid != 0 {
			stop = append(stop, g.pid)
			g.pid = 0
		}
	}
	s.mu.Unlock()
	s.stopPIDs(ctx, stop)
	msg, _ := json.Marshal(restartMsg{Type: "restart", Children: ids})
	self := s.self
	t := s.k.clock.AfterFunc(delay, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.k.deliver(sctx, &Envelope{ID: s.k.msgID.Add(1), From: self.pid, Target: ToProcess(self.pid), Payload: JSONPayload(msg), Timestamp: s.k.clock.Now()}, true)
	})
	s.mu.Lock()
	s.timers = append(s.timers, t)
	s.mu.Unlock()
	// Published once the restart is scheduled, so an observer that acts on
	// the event (a test advancing a fake clock) sees a consistent state.
	s.k.publish(Event{Kind: EventSupervisorRestart, PID: s.self.pid, Data: map[string]any{"supervisor": s.self.pid, "child": c.spec.ID, "pid": pid,
		"exit_code": code, "reason": reason, "strategy": s.spec.Strategy.String(), "restart": ids, "delay": delay.String()}})
	return nil
}

// stopPIDs kills the given children and waits for them to exit.
func (s *supervisor) stopPIDs(ctx context.Context, pids []PID) {
	for i := len(pids) - 1; i >= 0; i-- {
		p, err := s.k.lookup(pids[i])
		if err != nil {
			continue
		}
		_ = s.k.Kill(pids[i])
		select {
		case <-p.done:
		case <-ctx.Done():
			return
		}
	}
}

func (s *supervisor) stopAll(ctx context.Context) {
	s.mu.Lock()
	s.stopping = true
	var pids []PID
	for _, c := range s.children {
		if c.pid != 0 {
			pids = append(pids, c.pid)
			c.pid = 0
		}
	}
	s.mu.Unlock()
	s.stopPIDs(ctx, pids)
}
