package kernel

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Governed service registration: what users (through the local API) and
// processes (agents declaring services) use. The composition root's
// built-in services use RegisterService directly.

var (
	serviceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	methodNameRE  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$`)
)

// ValidServiceName reports whether s can name a service: 1 to 64
// characters from [A-Za-z0-9_-], starting with a letter or digit. A dot is
// not allowed: "service:NAME.METHOD" addresses a method.
func ValidServiceName(s string) bool { return serviceNameRE.MatchString(s) }

// ValidMethodName reports whether s can name a method of a service's
// contract: 1 to 64 characters from [A-Za-z0-9_-].
func ValidMethodName(s string) bool { return methodNameRE.MatchString(s) }

// RegisterServiceAs registers spec on behalf of actor (KernelPID for the
// node's operator). It is a privileged act: the gate decides
// "service.register" (context: service, methods, owner_pid, owner_name,
// owner_kind) before anything changes, and the service.register event
// carries the decision's action id. Refused before the gate, and reported
// to it: an invalid name or contract, the kernel as owner (its services
// are built in), an owner that is not running, an actor that is neither
// the owner nor one of its ancestors or that lacks can_ipc, and a name
// already registered.
func (k *Kernel) RegisterServiceAs(ctx context.Context, actor PID, spec ServiceSpec) (ServiceInfo, error) {
	from, err := k.lookup(actor)
	if err != nil {
		return ServiceInfo{}, fmt.Errorf("register service %q: %w", spec.Name, err)
	}
	spec.Methods, spec.Idempotent = slices.Clone(spec.Methods), slices.Clone(spec.Idempotent)
	req := GateRequest{Action: "service.register", PID: from.pid, Name: from.name, Caps: from.Capabilities(),
		Context: map[string]string{"service": spec.Name, "methods": strings.Join(spec.Methods, ","), "owner_pid": strconv.FormatUint(uint64(spec.Owner), 10)}}
	if len(spec.Idempotent) > 0 {
		req.Context["idempotent"] = strings.Join(spec.Idempotent, ",")
	}
	owner, err := k.checkRegister(from, spec)
	if owner != nil {
		req.Context["owner_name"], req.Context["owner_kind"] = owner.name, owner.kind
	}
	if err != nil {
		return ServiceInfo{}, k.refused(ctx, req, err)
	}
	id, err := k.gate(ctx, req)
	if err != nil {
		return ServiceInfo{}, fmt.Errorf("register service %q: %w", spec.Name, err)
	}
	if spec.Type == "" {
		spec.Type = owner.kind
	}
	return k.addService(spec, &act{action: req.Action, id: id, agent: from.name})
}

// checkRegister validates a governed registration; it returns the owner
// when it exists.
func (k *Kernel) checkRegister(from *Process, spec ServiceSpec) (*Process, error) {
	if !ValidServiceName(spec.Name) {
		return nil, fmt.Errorf("%w: service name %q: use 1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit", ErrInvalid, spec.Name)
	}
	for i, m := range spec.Methods {
		if !ValidMethodName(m) {
			return nil, fmt.Errorf("%w: service %q: method name %q: use 1-64 of A-Z a-z 0-9 _ -", ErrInvalid, spec.Name, m)
		}
		if slices.Contains(spec.Methods[:i], m) {
			return nil, fmt.Errorf("%w: service %q: method %q listed twice", ErrInvalid, spec.Name, m)
		}
	}
	for i, m := range spec.Idempotent {
		if !slices.Contains(spec.Methods, m) {
			return nil, fmt.Errorf("%w: service %q: idempotent method %q is not in the contract", ErrInvalid, spec.Name, m)
		}
		if slices.Contains(spec.Idempotent[:i], m) {
			return nil, fmt.Errorf("%w: service %q: idempotent method %q listed twice", ErrInvalid, spec.Name, m)
		}
	}
	if spec.Owner == KernelPID {
		return nil, fmt.Errorf("%w: service %q: the kernel's services are built in; name the process that serves it", ErrInvalid, spec.Name)
	}
	owner, err := k.lookup(spec.Owner)
	if err != nil {
		return nil, fmt.Errorf("register service %q: owner: %w", spec.Name, err)
	}
	if st := owner.State(); st == StateStopping || st == StateExited {
		return owner, fmt.Errorf("%w: register service %q: owner %d is %s", ErrNotRunning, spec.Name, owner.pid, st)
	}
	if err := k.mayManage(from, owner, "register a service for"); err != nil {
		return owner, err
	}
	if cur, err := k.services.owner(spec.Name); err == nil {
		return owner, fmt.Errorf("%w: %q (owner %d)", ErrServiceExists, spec.Name, cur)
	}
	return owner, nil
}

// mayManage checks that from may register or remove owner's services: the
// kernel may, and so may the owner itself or one of its ancestors, if it
// holds can_ipc (a service is an IPC endpoint).
func (k *Kernel) mayManage(from, owner *Process, what string) error {
	if from.pid == KernelPID {
		return nil
	}
	if !from.Capabilities().CanIPC {
		return fmt.Errorf("%w: process %d lacks can_ipc", ErrCapability, from.pid)
	}
	if from.pid != owner.pid && !k.isAncestor(from.pid, owner) {
		return fmt.Errorf("%w: process %d may not %s process %d (neither the process nor an ancestor)", ErrCapability, from.pid, what, owner.pid)
	}
	return nil
}

// UnregisterServiceAs removes a service on behalf of actor. Like
// registration it is a privileged act ("service.unregister", decided by
// the gate; refusals reported): actor must be the kernel, the owner or
// one of its ancestors, and built-in services cannot be removed.
func (k *Kernel) UnregisterServiceAs(ctx context.Context, actor PID, name string) error {
	from, err := k.lookup(actor)
	if err != nil {
		return fmt.Errorf("unregister service %q: %w", name, err)
	}
	r := &k.services
	r.mu.RLock()
	s, ok := r.services[name]
	var unknown error
	if !ok {
		unknown = r.unknownLocked(name)
	}
	r.mu.RUnlock()
	req := GateRequest{Action: "service.unregister", PID: from.pid, Name: from.name, Caps: from.Capabilities(),
		Context: map[string]string{"service": name}}
	if !ok {
		return k.refused(ctx, req, unknown)
	}
	ownerPID := s.spec.Owner
	req.Context["owner_pid"] = strconv.FormatUint(uint64(ownerPID), 10)
	if ownerPID == KernelPID {
		return k.refused(ctx, req, fmt.Errorf("%w: service %q is built in", ErrInvalid, name))
	}
	if owner, err := k.lookup(ownerPID); err == nil {
		req.Context["owner_name"], req.Context["owner_kind"] = owner.name, owner.kind
		if err := k.mayManage(from, owner, "unregister a service of"); err != nil {
			return k.refused(ctx, req, err)
		}
	} else if from.pid != KernelPID {
		// The owner is gone; its services go with it.
		return k.refused(ctx, req, fmt.Errorf("%w: service %q: owner %d has exited", ErrNotRunning, name, ownerPID))
	}
	id, err := k.gate(ctx, req)
	if err != nil {
		return fmt.Errorf("unregister service %q: %w", name, err)
	}
	r.mu.Lock()
	cur, still := r.services[name]
	if still && cur == s {
		delete(r.services, name)
	}
	r.mu.Unlock()
	if !still || cur != s {
		// Removed (its owner exited) or replaced while the gate decided.
		return fmt.Errorf("%w: %q was removed meanwhile", ErrUnknownService, name)
	}
	k.publish(Event{Kind: EventServiceRemove, PID: ownerPID, Data: ServiceEvent{Name: name, Owner: ownerPID, Reason: "unregistered",
		Action: req.Action, ActionID: id, Agent: from.name}})
	return nil
}
