// Package remoteipc is cross-node IPC: the kernel's Remote (messages to a
// process on another node, topics and broadcasts spread over the cluster,
// services resolved to replicas on other nodes) over the cluster's
// requests (internal/cluster), and the serving side that answers other
// members' requests. A message for another node travels as a Msg; the node
// it reaches delivers it into its kernel (Origin set) and answers with a
// Reply. Services resolve to replica sets tried round-robin behind
// per-node circuit breakers; failover between replicas is the cluster's
// RequestAny (which records ipc.failover). What it needs of things the
// daemon owns — the cluster membership, the kernel, the replicated service
// registry, the governed spawn path — it declares as small interfaces
// here; the daemon wires them.
package remoteipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/cluster"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/witness"
)

// Cluster is what remote IPC needs of the node's cluster membership
// (*cluster.Node).
type Cluster interface {
	RequestWith(ctx context.Context, node string, body []byte, opts cluster.RequestOptions) ([]byte, error)
	RequestAny(ctx context.Context, nodes []string, call cluster.Call) (string, []byte, error)
	Peers() ([]cluster.PeerInfo, error)
}

// Kernel is what serving another member's request needs of this node's
// kernel (*kernel.Kernel).
type Kernel interface {
	Inbound(ctx context.Context, origin string, env *kernel.Envelope) (*kernel.Envelope, error)
	HasService(name, method string) bool
	MethodIdempotent(name, method string) bool
	PS(exited bool) []kernel.Info
}

// Registry is the cluster's replicated service registry.
type Registry interface {
	// Version changes whenever the committed registry does: replica sets
	// resolved at another version are resolved again.
	Version() uint64
	// Serving lists the nodes the committed registry names for the
	// service; nil when there is no consensus or no registration has
	// committed (every live member is then asked).
	Serving(service string) []string
}

// Spawner spawns a process another member asked for through the node's
// governed path: the kernel's gate decides it (agent.spawn) with the
// asking node as the subject.
type Spawner interface {
	SpawnFor(ctx context.Context, node string, spec kernel.SpawnSpec) (kernel.PID, error)
}

// Options configure New. Chain is nil when this node's chain is not open
// (checkpoints are then refused); Codes, Now and Logger may be nil.
type Options struct {
	Cluster     Cluster
	Kernel      Kernel
	Registry    Registry
	Spawner     Spawner
	Chain       witness.Source
	DefaultCaps kernel.Capabilities // what a remote spawn asking for none gets
	// Codes maps an error of the outer layers to its API code ("" when it
	// has none); the kernel's own errors map through kernel.Code.
	Codes  func(error) string
	Now    func() time.Time
	Logger *slog.Logger
}

// Msg is a cross-node message: the body of a cluster request.
type Msg struct {
	Op     string                `json:"op"` // deliver, spread, service, resolve, spawn, checkpoint, ps
	Env    *kernel.Envelope      `json:"env,omitempty"`
	Name   string                `json:"name,omitempty"`   // resolve: the service
	Meth   string                `json:"method,omitempty"` // resolve: the method
	Spawn  *apitype.SpawnRequest `json:"spawn,omitempty"`
	Since  uint64                `json:"since,omitempty"`  // checkpoint: the size the witness last saw
	Exited bool                  `json:"exited,omitempty"` // ps: with recently exited processes
}

// Reply is the answer to a Msg.
type Reply struct {
	Env *kernel.Envelope `json:"env,omitempty"`
	Has bool             `json:"has,omitempty"`
	// Idempotent answers resolve: the method is declared idempotent here.
	Idempotent bool       `json:"idempotent,omitempty"`
	PID        kernel.PID `json:"pid,omitempty"`
	// Statement answers checkpoint: this node's chain, for a witness.
	Statement *witness.Statement `json:"statement,omitempty"`
	// Procs answers ps: this node's process table.
	Procs []kernel.Info `json:"procs,omitempty"`
}

// Remote implements kernel.Remote, and answers other members' requests
// (Serve).
type Remote struct {
	cluster  Cluster
	kernel   Kernel
	registry Registry
	spawner  Spawner
	chain    witness.Source
	caps     kernel.Capabilities
	codes    func(error) string
	now      func() time.Time
	log      *slog.Logger

	mu       sync.Mutex
	seen     map[string]struct{} // spread messages delivered here, by origin and id
	order    []string
	replicas map[string]*replicaSet // by service name and method
	breakers map[string]*breaker    // by node id
}

var _ kernel.Remote = (*Remote)(nil)

const (
	dedupSize       = 4096
	spreadTimeout   = 2 * time.Second
	replicaTTL      = 2 * time.Second
	breakerFailures = 3
	breakerOpen     = 5 * time.Second
)

// New builds the remote.
func New(opts Options) *Remote {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Codes == nil {
		opts.Codes = func(error) string { return "" }
	}
	return &Remote{cluster: opts.Cluster, kernel: opts.Kernel, registry: opts.Registry, spawner: opts.Spawner, chain: opts.Chain,
		caps: opts.DefaultCaps, codes: opts.Codes, now: opts.Now, log: opts.Logger,
		seen: map[string]struct{}{}, replicas: map[string]*replicaSet{}, breakers: map[string]*breaker{}}
}

// Request sends m to node and returns its reply.
func (r *Remote) Request(ctx context.Context, node string, m Msg) (Reply, error) {
	return r.requestWith(ctx, node, m, cluster.RequestOptions{})
}

func (r *Remote) requestWith(ctx context.Context, node string, m Msg, opts cluster.RequestOptions) (Reply, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return Reply{}, err
	}
	b, err := r.cluster.RequestWith(ctx, node, body, opts)
	return decodeReply(node, b, err)
}

// decodeReply turns a cluster answer into a reply: a remote kernel's
// error back into its sentinel, the envelope marked with its origin.
func decodeReply(node string, b []byte, err error) (Reply, error) {
	var out Reply
	if errors.Is(err, cluster.ErrNotInCluster) {
		return out, fmt.Errorf("%w: this node is in no cluster (weave cluster init or join)", kernel.ErrMeshNotEnabled)
	}
	if err != nil {
		var re *cluster.RemoteError
		if errors.As(err, &re) {
			if s := kernel.ErrorForCode(re.Code); s != nil {
				return out, fmt.Errorf("%w: %s", s, re.Error())
			}
		}
		return out, err
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return out, fmt.Errorf("%w: node %s answered: %w", cluster.ErrUnreachable, node, err)
	}
	if out.Env != nil {
		out.Env.Origin = node
	}
	return out, nil
}

func inner(env *kernel.Envelope) *kernel.Envelope {
	e := *env
	if env.Target.Kind == kernel.TargetRemoteNode && env.Target.Inner != nil {
		e.Target = *env.Target.Inner
	}
	return &e
}

// Deliver implements kernel.Remote.
func (r *Remote) Deliver(ctx context.Context, node string, env *kernel.Envelope) (*kernel.Envelope, error) {
	rep, err := r.Request(ctx, node, Msg{Op: "deliver", Env: inner(env)})
	return rep.Env, err
}

// Spread implements kernel.Remote: every other member that membership
// sees alive gets the message, in parallel, each within spreadTimeout and
// tried twice (the receiver drops a repeat by origin and id); the members
// not reached are returned, and the kernel dead-letters the message for
// each.
func (r *Remote) Spread(ctx context.Context, env *kernel.Envelope) map[string]error {
	ps, err := r.cluster.Peers()
	if err != nil {
		return nil // in no cluster: nothing to spread to
	}
	var mu sync.Mutex
	var failed map[string]error
	var wg sync.WaitGroup
	for _, p := range ps {
		if p.Self || (p.State != "alive" && p.State != "suspect") {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			// One request id for both attempts: the receiver runs it
			// once (and drops a repeat by origin and envelope id too).
			opts := cluster.RequestOptions{ID: cluster.NewRequestID(), Idempotent: true}
			for range 2 {
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), spreadTimeout)
				_, err = r.requestWith(sctx, p.NodeID, Msg{Op: "spread", Env: env}, opts)
				cancel()
				if err == nil || !errors.Is(err, cluster.ErrUnreachable) {
					break
				}
			}
			if err != nil {
				r.log.Warn("a topic message did not reach a node", "node", p.NodeID, "target", env.Target.String(), "err", err)
				mu.Lock()
				if failed == nil {
					failed = map[string]error{}
				}
				failed[p.NodeID] = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed
}

// Checkpoint asks node for its chain's latest checkpoint, with a
// consistency proof from since (what a witness last saw of it).
func (r *Remote) Checkpoint(ctx context.Context, node string, since uint64) (witness.Statement, error) {
	rep, err := r.Request(ctx, node, Msg{Op: "checkpoint", Since: since})
	if err != nil {
		return witness.Statement{}, err
	}
	if rep.Statement == nil {
		return witness.Statement{}, fmt.Errorf("%w: node %s answered no statement", cluster.ErrUnreachable, node)
	}
	return *rep.Statement, nil
}

// Spawn asks node to spawn a process (weave agent spawn --node); node
// governs it.
func (r *Remote) Spawn(ctx context.Context, node string, req apitype.SpawnRequest) (kernel.PID, error) {
	rep, err := r.Request(ctx, node, Msg{Op: "spawn", Spawn: &req})
	return rep.PID, err
}

// psTimeout bounds how long Processes waits for a member.
const psTimeout = 3 * time.Second

// Processes lists every member's processes (weave ps --cluster), asking
// the members membership sees alive in parallel; a member that cannot be
// asked is listed with the reason.
func (r *Remote) Processes(ctx context.Context, exited bool) ([]apitype.ClusterNodeProcesses, error) {
	peers, err := r.cluster.Peers()
	if err != nil {
		return nil, err
	}
	out := make([]apitype.ClusterNodeProcesses, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		out[i] = apitype.ClusterNodeProcesses{NodeID: p.NodeID, Name: p.Name, State: p.State, Self: p.Self, Processes: []kernel.Info{}}
		switch {
		case p.Self:
			out[i].Processes = r.kernel.PS(exited)
		case p.State != "alive" && p.State != "suspect":
			out[i].Error = "not asked: the member is " + p.State
		default:
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(ctx, psTimeout)
				defer cancel()
				rep, err := r.Request(ctx, p.NodeID, Msg{Op: "ps", Exited: exited})
				if err != nil {
					out[i].Error = err.Error()
					return
				}
				if rep.Procs != nil {
					out[i].Processes = rep.Procs
				}
			}()
		}
	}
	wg.Wait()
	return out, nil
}
