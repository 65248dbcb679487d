package kernel

import (
	"context"
	"errors"
	"fmt"
)

// Remote carries IPC to other nodes. The kernel declares it and never
// imports the mesh; the daemon plugs the cluster in (SetRemote). Without
// one, RemoteNode targets answer ErrMeshNotEnabled and topics, broadcasts
// and services stay on this node.
type Remote interface {
	// Deliver sends env to *env.Target.Inner on node; for a request
	// (env.ReplyTo) it waits for the reply and returns it.
	Deliver(ctx context.Context, node string, env *Envelope) (*Envelope, error)
	// Spread sends a topic message or a broadcast to every other node and
	// returns the nodes it did not reach, with why (the kernel
	// dead-letters the message for each).
	Spread(ctx context.Context, env *Envelope) map[string]error
	// Service delivers a message for a service this node does not have to
	// a replica on another node (returning the reply of a request), or
	// fails with ErrUnknownService when no node has it.
	Service(ctx context.Context, env *Envelope) (*Envelope, error)
}

// SetRemote installs the mesh.
func (k *Kernel) SetRemote(r Remote) {
	k.mu.Lock()
	k.remote = r
	k.mu.Unlock()
}

func (k *Kernel) remoteOf() Remote {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.remote
}

// routeRemote sends env to a target on another node.
func (k *Kernel) routeRemote(ctx context.Context, env *Envelope) error {
	t := env.Target
	if t.Inner == nil || t.Inner.Kind == TargetRemoteNode || t.Inner.Kind == 0 {
		return fmt.Errorf("%w: a remote target needs an inner target that is not itself remote", ErrInvalid)
	}
	if t.Inner.Kind == TargetKernel {
		return fmt.Errorf("%w: the kernel target of another node is not reachable over IPC (use a remote spawn)", ErrScope)
	}
	if t.Node == k.cfg.NodeID {
		local := *env
		local.Target = *t.Inner
		return k.route(ctx, &local)
	}
	r := k.remoteOf()
	if r == nil || env.Origin != "" {
		return fmt.Errorf("%w (target %s)", ErrMeshNotEnabled, t)
	}
	reply, err := r.Deliver(ctx, t.Node, env)
	if err != nil {
		return err
	}
	k.completeRemote(env, reply)
	return nil
}

// completeRemote hands the reply of a remote request to its requester.
func (k *Kernel) completeRemote(env, reply *Envelope) {
	if !env.ReplyTo || reply == nil {
		return
	}
	reply.CorrelationID = env.ID
	reply.Target = ToProcess(env.From)
	k.pending.complete(env.From, reply)
}

// spread sends a local topic message or broadcast to the other nodes.
func (k *Kernel) spread(ctx context.Context, env *Envelope) {
	if env.Origin != "" {
		return // it came from another node, which spread it
	}
	if r := k.remoteOf(); r != nil {
		for node, err := range r.Spread(ctx, env) {
			k.deadLetter(env, fmt.Sprintf("not delivered to node %s: %v", node, err))
		}
	}
}

// remoteService offers a message for a service this node does not have
// to the other nodes; handled is false when there is no mesh or no node
// has the service.
func (k *Kernel) remoteService(ctx context.Context, env *Envelope) (handled bool, err error) {
	r := k.remoteOf()
	if r == nil || env.Origin != "" {
		return false, nil
	}
	reply, err := r.Service(ctx, env)
	if errors.Is(err, ErrUnknownService) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	k.completeRemote(env, reply)
	return true, nil
}

// Inbound delivers a message that came from node origin over the mesh. It
// is sent as the kernel (PID 0) with Origin set, so it is never sent on to
// a third node; a request's reply is returned. The kernel target is not
// reachable this way.
func (k *Kernel) Inbound(ctx context.Context, origin string, env *Envelope) (*Envelope, error) {
	switch env.Target.Kind {
	case TargetKernel, TargetRemoteNode:
		return nil, fmt.Errorf("%w: %s is not reachable from another node", ErrScope, env.Target)
	}
	e := &Envelope{From: KernelPID, Target: env.Target, Payload: env.Payload, TraceID: env.TraceID, Origin: origin}
	if env.ReplyTo {
		return k.request(ctx, e)
	}
	_, err := k.send(ctx, e)
	return nil, err
}

// HasService reports whether a process on this node serves name (and
// method, when not empty).
func (k *Kernel) HasService(name, method string) bool {
	_, err := k.resolveService(Target{Kind: TargetServiceMethod, Service: name, Method: method})
	if method == "" {
		_, err = k.resolveService(Target{Kind: TargetService, Service: name})
	}
	return err == nil
}
