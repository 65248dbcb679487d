package kernel

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Probe checks a service; nil means healthy.
type Probe func(ctx context.Context) error

// ServiceSpec registers a service.
type ServiceSpec struct {
	Name     string
	Type     string // e.g. "builtin", "agent", "tool"
	Owner    PID
	Endpoint string
	Methods  []string // the contract; ServiceMethod targets must name one
	// Idempotent lists the methods of the contract that may run twice
	// with the effect of once: a call to one that went unanswered by a
	// replica on another node is retried once on a surviving replica
	// (the others fail fast instead; docs/MESH.md).
	Idempotent []string
	// Liveness and Readiness default to "the owner process is running".
	Liveness  Probe
	Readiness Probe
}

// Health is a service's or the node's health.
type Health string

// Health values.
const (
	Healthy  Health = "healthy"
	Degraded Health = "degraded"
	Down     Health = "down"
	Unknown  Health = "unknown"
)

// ServiceInfo describes a registered service.
type ServiceInfo struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Owner    PID      `json:"owner"`
	Endpoint string   `json:"endpoint,omitempty"`
	Methods  []string `json:"methods,omitempty"`
	// Idempotent are the methods declared idempotent (ServiceSpec).
	Idempotent []string  `json:"idempotent,omitempty"`
	Live       bool      `json:"live"`
	Ready      bool      `json:"ready"`
	Health     Health    `json:"health"`
	LastError  string    `json:"last_error,omitempty"`
	Checked    time.Time `json:"checked,omitzero"`
}

// AggregateHealth is the node's health over all services.
type AggregateHealth struct {
	Status   Health   `json:"status"`
	Degraded []string `json:"degraded,omitempty"`
}

type serviceRegistry struct {
	mu       sync.RWMutex
	services map[string]*service
	timer    interface{ Stop() bool }
	stopped  bool
}

type service struct {
	spec ServiceSpec
	info ServiceInfo
}

func (r *serviceRegistry) init() { r.services = make(map[string]*service) }

// RegisterService adds a service to the registry without asking the gate:
// it is for the composition root's built-in services (the kernel, the
// chain, governance). Users and processes register services with
// [Kernel.RegisterServiceAs], which is a governed act.
func (k *Kernel) RegisterService(spec ServiceSpec) error {
	if err := CheckName("service", spec.Name); err != nil {
		return err
	}
	if _, err := k.lookup(spec.Owner); err != nil {
		return fmt.Errorf("register service %q: owner: %w", spec.Name, err)
	}
	_, err := k.addService(spec, nil)
	return err
}

// addService puts spec in the registry, publishes service.register (with
// the decision a, when the registration was governed) and probes the new
// service once.
func (k *Kernel) addService(spec ServiceSpec, a *act) (ServiceInfo, error) {
	r := &k.services
	owner := spec.Owner
	running := func(context.Context) error {
		p, err := k.lookup(owner)
		if err != nil {
			return err
		}
		if st := p.State(); st != StateRunning {
			return fmt.Errorf("owner %d is %s", owner, st)
		}
		return nil
	}
	if spec.Liveness == nil {
		spec.Liveness = running
	}
	if spec.Readiness == nil {
		spec.Readiness = spec.Liveness
	}
	if spec.Type == "" {
		spec.Type = "service"
	}
	s := &service{spec: spec, info: ServiceInfo{Name: spec.Name, Type: spec.Type, Owner: spec.Owner,
		Endpoint: spec.Endpoint, Methods: slices.Clone(spec.Methods), Idempotent: slices.Clone(spec.Idempotent), Health: Unknown}}
	r.mu.Lock()
	if cur, ok := r.services[spec.Name]; ok {
		r.mu.Unlock()
		return ServiceInfo{}, fmt.Errorf("%w: %q (owner %d)", ErrServiceExists, spec.Name, cur.spec.Owner)
	}
	// The owner's state is read under the registry lock: an exiting owner
	// sets its state before it takes this lock to remove its services, so
	// a service is never added after its owner's services were removed.
	if owner != KernelPID {
		p, err := k.lookup(owner)
		if err != nil {
			r.mu.Unlock()
			return ServiceInfo{}, fmt.Errorf("register service %q: owner: %w", spec.Name, err)
		}
		if st := p.State(); st == StateStopping || st == StateExited {
			r.mu.Unlock()
			return ServiceInfo{}, fmt.Errorf("%w: register service %q: owner %d is %s", ErrNotRunning, spec.Name, owner, st)
		}
	}
	r.services[spec.Name] = s
	r.mu.Unlock()
	ev := ServiceEvent{Name: spec.Name, Type: spec.Type, Owner: spec.Owner, Methods: slices.Clone(spec.Methods), Idempotent: slices.Clone(spec.Idempotent)}
	if a != nil {
		ev.Action, ev.ActionID, ev.Agent = a.action, a.id, a.agent
	}
	k.publish(Event{Kind: EventServiceRegister, PID: spec.Owner, Data: ev})
	k.checkService(k.ctx, s)
	r.mu.RLock()
	info := s.info
	r.mu.RUnlock()
	return info, nil
}

// UnregisterService removes a service without asking the gate (see
// [Kernel.UnregisterServiceAs] for the governed form).
func (k *Kernel) UnregisterService(name string) error {
	r := &k.services
	r.mu.Lock()
	s, ok := r.services[name]
	delete(r.services, name)
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownService, name)
	}
	k.publish(Event{Kind: EventServiceRemove, PID: s.spec.Owner, Data: ServiceEvent{Name: name, Owner: s.spec.Owner, Reason: "unregistered"}})
	return nil
}

func (r *serviceRegistry) ownerExited(k *Kernel, pid PID) {
	r.mu.Lock()
	var gone []string
	for n, s := range r.services {
		if s.spec.Owner == pid {
			delete(r.services, n)
			gone = append(gone, n)
		}
	}
	r.mu.Unlock()
	sort.Strings(gone)
	for _, n := range gone {
		k.publish(Event{Kind: EventServiceRemove, PID: pid, Data: ServiceEvent{Name: n, Owner: pid, Reason: "owner exited"}})
	}
}

func (r *serviceRegistry) owner(name string) (PID, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.services[name]
	if !ok {
		return 0, r.unknownLocked(name)
	}
	return s.spec.Owner, nil
}

// unknownLocked is the error for a name nobody registered; it lists the
// registered services (up to 10), so that a typo is easy to see.
func (r *serviceRegistry) unknownLocked(name string) error {
	names := make([]string, 0, len(r.services))
	for n := range r.services {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > 10 {
		names = append(names[:10], "…")
	}
	return fmt.Errorf("%w: %q (registered: %s)", ErrUnknownService, name, strings.Join(names, ", "))
}

// resolveService returns the live process a Service or ServiceMethod
// target reaches. What would make the message undeliverable is an error
// for the sender before anything is routed (nothing is dead-lettered): a
// service nobody registered, a method outside its contract, a built-in
// service the kernel serves itself rather than a process's inbox, an
// owner that is gone or stopping.
func (k *Kernel) resolveService(t Target) (PID, error) {
	r := &k.services
	r.mu.RLock()
	s, ok := r.services[t.Service]
	if !ok {
		err := r.unknownLocked(t.Service)
		r.mu.RUnlock()
		return 0, err
	}
	spec := s.spec
	r.mu.RUnlock()
	if t.Kind == TargetServiceMethod && !slices.Contains(spec.Methods, t.Method) {
		contract := strings.Join(spec.Methods, ", ")
		if contract == "" {
			contract = "no methods: address the service itself"
		}
		return 0, fmt.Errorf("%w: %s.%s (contract: %s)", ErrUnknownMethod, t.Service, t.Method, contract)
	}
	if spec.Owner == KernelPID {
		return 0, fmt.Errorf("%w: %q is a built-in service served at %s, not by a process", ErrServiceNotIPC, t.Service, spec.Endpoint)
	}
	p, err := k.lookup(spec.Owner)
	if err != nil {
		return 0, fmt.Errorf("%w: service %q: owner %d has exited", ErrNotRunning, t.Service, spec.Owner)
	}
	if st := p.State(); st == StateStopping || st == StateExited {
		return 0, fmt.Errorf("%w: service %q: owner %d is %s", ErrNotRunning, t.Service, spec.Owner, st)
	}
	return spec.Owner, nil
}

// MethodIdempotent reports whether method of the service name (served
// here) is declared idempotent.
func (k *Kernel) MethodIdempotent(name, method string) bool {
	r := &k.services
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.services[name]
	return ok && method != "" && slices.Contains(s.spec.Idempotent, method)
}

// Services lists the registered services with their last health check.
func (k *Kernel) Services() []ServiceInfo {
	r := &k.services
	r.mu.RLock()
	out := make([]ServiceInfo, 0, len(r.services))
	for _, s := range r.services {
		out = append(out, s.info)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// CheckServices runs every liveness and readiness probe (each bounded by a
// 2 s timeout) and records the results.
func (k *Kernel) CheckServices(ctx context.Context) {
	r := &k.services
	r.mu.RLock()
	list := make([]*service, 0, len(r.services))
	for _, s := range r.services {
		list = append(list, s)
	}
	r.mu.RUnlock()
	for _, s := range list {
		k.checkService(ctx, s)
	}
}

// checkService runs s's probes (bounded by a 2 s timeout) and records the
// result, publishing service.health when it changed.
func (k *Kernel) checkService(ctx context.Context, s *service) {
	r := &k.services
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	lerr := s.spec.Liveness(pctx)
	rerr := lerr
	if lerr == nil {
		rerr = s.spec.Readiness(pctx)
	}
	cancel()
	r.mu.Lock()
	prev := s.info.Health
	s.info.Live, s.info.Ready, s.info.Checked = lerr == nil, rerr == nil, k.clock.Now()
	switch {
	case lerr != nil:
		s.info.Health, s.info.LastError = Down, lerr.Error()
	case rerr != nil:
		s.info.Health, s.info.LastError = Degraded, rerr.Error()
	default:
		s.info.Health, s.info.LastError = Healthy, ""
	}
	now := s.info.Health
	r.mu.Unlock()
	if prev != now {
		k.publish(Event{Kind: EventServiceHealth, Data: map[string]any{"name": s.spec.Name, "from": prev, "to": now, "error": s.info.LastError}})
	}
}

// StartHealthChecks runs CheckServices every interval until Close.
func (k *Kernel) StartHealthChecks(interval time.Duration) {
	r := &k.services
	var tick func()
	tick = func() {
		k.CheckServices(k.ctx)
		r.mu.Lock()
		if !r.stopped {
			r.timer = k.clock.AfterFunc(interval, tick)
		}
		r.mu.Unlock()
	}
	r.mu.Lock()
	r.timer = k.clock.AfterFunc(interval, tick)
	r.mu.Unlock()
}

func (r *serviceRegistry) stopChecks() {
	r.mu.Lock()
	r.stopped = true
	if r.timer != nil {
		r.timer.Stop()
	}
	r.mu.Unlock()
}

// Health aggregates the last checks: Healthy when every service is
// healthy, Down when the kernel is shut down or every service is down,
// Degraded (with the names) otherwise.
func (k *Kernel) Health() AggregateHealth {
	k.mu.RLock()
	closed := k.closed
	k.mu.RUnlock()
	if closed {
		return AggregateHealth{Status: Down}
	}
	svcs := k.Services()
	var bad []string
	down := 0
	for _, s := range svcs {
		if s.Health == Healthy {
			continue
		}
		bad = append(bad, s.Name)
		if s.Health == Down {
			down++
		}
	}
	// A cron job whose last run failed (its message could not be
	// delivered) degrades the node too: it is not doing its work.
	failing := k.failingCron()
	switch {
	case len(bad) == 0 && len(failing) == 0:
		return AggregateHealth{Status: Healthy}
	case len(bad) == 0:
		return AggregateHealth{Status: Degraded, Degraded: failing}
	case down == len(svcs):
		return AggregateHealth{Status: Down, Degraded: bad}
	default:
		return AggregateHealth{Status: Degraded, Degraded: append(bad, failing...)}
	}
}
