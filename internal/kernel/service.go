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
	Name      string    `json:"name"`
	Type      string    `json:"type"`
	Owner     PID       `json:"owner"`
	Endpoint  string    `json:"endpoint,omitempty"`
	Methods   []string  `json:"methods,omitempty"`
	Live      bool      `json:"live"`
	Ready     bool      `json:"ready"`
	Health    Health    `json:"health"`
	LastError string    `json:"last_error,omitempty"`
	Checked   time.Time `json:"checked,omitzero"`
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

// RegisterService adds a service to the registry.
func (k *Kernel) RegisterService(spec ServiceSpec) error {
	if err := CheckName("service", spec.Name); err != nil {
		return err
	}
	if _, err := k.lookup(spec.Owner); err != nil {
		return fmt.Errorf("register service %q: owner: %w", spec.Name, err)
	}
	r := &k.services
	r.mu.Lock()
	if _, ok := r.services[spec.Name]; ok {
		r.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrServiceExists, spec.Name)
	}
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
	r.services[spec.Name] = &service{spec: spec, info: ServiceInfo{Name: spec.Name, Type: spec.Type, Owner: spec.Owner,
		Endpoint: spec.Endpoint, Methods: slices.Clone(spec.Methods), Health: Unknown}}
	r.mu.Unlock()
	k.publish(Event{Kind: EventServiceRegister, PID: spec.Owner, Data: map[string]any{"name": spec.Name, "type": spec.Type, "owner": spec.Owner, "methods": spec.Methods}})
	k.CheckServices(context.Background())
	return nil
}

// UnregisterService removes a service.
func (k *Kernel) UnregisterService(name string) error {
	r := &k.services
	r.mu.Lock()
	_, ok := r.services[name]
	delete(r.services, name)
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownService, name)
	}
	k.publish(Event{Kind: EventServiceRemove, Data: map[string]any{"name": name}})
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
	for _, n := range gone {
		k.publish(Event{Kind: EventServiceRemove, PID: pid, Data: map[string]any{"name": n, "reason": "owner exited"}})
	}
}

func (r *serviceRegistry) owner(name string) (PID, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.services[name]
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrUnknownService, name)
	}
	return s.spec.Owner, nil
}

func (r *serviceRegistry) resolve(name, method string, needMethod bool) (PID, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.services[name]
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrUnknownService, name)
	}
	if needMethod && !slices.Contains(s.spec.Methods, method) {
		return 0, fmt.Errorf("%w: %s.%s (contract: %s)", ErrUnknownMethod, name, method, strings.Join(s.spec.Methods, ", "))
	}
	return s.spec.Owner, nil
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
