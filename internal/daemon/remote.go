//go:build !nomesh

package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/cluster"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/witness"
)

// Cross-node IPC: the kernel's Remote, over cluster requests. A message
// for another node travels as a remoteMsg; the node it reaches delivers it
// with kernel.Inbound (as its kernel, Origin set) and answers with the
// reply of a request.
type remoteMsg struct {
	Op     string                `json:"op"` // deliver, spread, service, resolve, spawn, checkpoint, ps
	Env    *kernel.Envelope      `json:"env,omitempty"`
	Name   string                `json:"name,omitempty"`   // resolve: the service
	Meth   string                `json:"method,omitempty"` // resolve: the method
	Spawn  *apitype.SpawnRequest `json:"spawn,omitempty"`
	Since  uint64                `json:"since,omitempty"`  // checkpoint: the size the witness last saw
	Exited bool                  `json:"exited,omitempty"` // ps: with recently exited processes
}

type remoteReply struct {
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

// remote implements kernel.Remote.
type remote struct {
	d        *Daemon
	mu       sync.Mutex
	seen     map[string]struct{} // spread messages delivered here, by origin and id
	order    []string
	replicas map[string]*replicaSet // by service name
	breakers map[string]*breaker    // by node id
}

const (
	dedupSize       = 4096
	spreadTimeout   = 2 * time.Second
	replicaTTL      = 2 * time.Second
	breakerFailures = 3
	breakerOpen     = 5 * time.Second
)

type replicaSet struct {
	nodes []string
	// idem: every replica declares the method idempotent, so a call it
	// left unanswered may be retried on another.
	idem    bool
	expires time.Time
	next    int
	version uint64 // the replicated service registry's version it was resolved at
}

// breaker is a per-node circuit breaker: after breakerFailures
// consecutive failures the node is skipped for breakerOpen, then tried
// again (half open).
type breaker struct {
	fails int
	until time.Time
}

func newRemote(d *Daemon) *remote {
	return &remote{d: d, seen: map[string]struct{}{}, replicas: map[string]*replicaSet{}, breakers: map[string]*breaker{}}
}

func (r *remote) request(ctx context.Context, node string, m remoteMsg) (remoteReply, error) {
	return r.requestWith(ctx, node, m, cluster.RequestOptions{})
}

func (r *remote) requestWith(ctx context.Context, node string, m remoteMsg, opts cluster.RequestOptions) (remoteReply, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return remoteReply{}, err
	}
	b, err := r.d.cluster.RequestWith(ctx, node, body, opts)
	return decodeReply(node, b, err)
}

// decodeReply turns a cluster answer into a reply: a remote kernel's
// error back into its sentinel, the envelope marked with its origin.
func decodeReply(node string, b []byte, err error) (remoteReply, error) {
	var out remoteReply
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
func (r *remote) Deliver(ctx context.Context, node string, env *kernel.Envelope) (*kernel.Envelope, error) {
	rep, err := r.request(ctx, node, remoteMsg{Op: "deliver", Env: inner(env)})
	return rep.Env, err
}

// Spread implements kernel.Remote: every other member that membership
// sees alive gets the message, in parallel, each within spreadTimeout and
// tried twice (the receiver drops a repeat by origin and id); the members
// not reached are returned, and the kernel dead-letters the message for
// each.
func (r *remote) Spread(ctx context.Context, env *kernel.Envelope) map[string]error {
	ps, err := r.d.cluster.Peers()
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
				_, err = r.requestWith(sctx, p.NodeID, remoteMsg{Op: "spread", Env: env}, opts)
				cancel()
				if err == nil || !errors.Is(err, cluster.ErrUnreachable) {
					break
				}
			}
			if err != nil {
				r.d.log.Warn("a topic message did not reach a node", "node", p.NodeID, "target", env.Target.String(), "err", err)
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

// Service implements kernel.Remote: the nodes serving the service
// (asked, and remembered for replicaTTL) are tried round-robin, skipping
// nodes whose breaker is open, through cluster.RequestAny: a call not
// sent goes to the next replica; a call sent and left unanswered (the
// node died, its link broke) fails at once with cluster.ErrNoReply,
// unless every replica declares the method idempotent — then it is
// retried once on a surviving replica. Each failover is recorded
// (ipc.failover).
func (r *remote) Service(ctx context.Context, env *kernel.Envelope) (*kernel.Envelope, error) {
	nodes, idem := r.resolve(ctx, env.Target.Service, env.Target.Method)
	if len(nodes) == 0 {
		return nil, fmt.Errorf("%w: %q on any node of the cluster", kernel.ErrUnknownService, env.Target.Service)
	}
	body, err := json.Marshal(remoteMsg{Op: "service", Env: env})
	if err != nil {
		return nil, err
	}
	node, b, err := r.d.cluster.RequestAny(ctx, nodes, cluster.Call{Body: body, Idempotent: idem, What: env.Target.String(), Outcome: r.outcome})
	rep, err := decodeReply(node, b, err)
	return rep.Env, err
}

// resolve returns the replicas of a service in the order to try them, and
// whether every one declares the method idempotent.
func (r *remote) resolve(ctx context.Context, name, method string) ([]string, bool) {
	key := name + "." + method
	now := time.Now()
	r.mu.Lock()
	rs := r.replicas[key]
	r.mu.Unlock()
	version := r.d.rep.Version()
	if rs == nil || now.After(rs.expires) || rs.version != version {
		rs = &replicaSet{expires: now.Add(replicaTTL), version: version, idem: method != ""}
		ps, err := r.d.cluster.Peers()
		if err != nil {
			return nil, false
		}
		// The replicated service registry names the nodes serving it
		// (each still asked for the method); without consensus, or before
		// a registration has committed, every live peer is asked.
		var listed map[string]bool
		if nodes := r.d.rep.Serving(name); r.d.inConsensus() && len(nodes) > 0 {
			listed = map[string]bool{}
			for _, n := range nodes {
				listed[n] = true
			}
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, p := range ps {
			if p.Self || (p.State != "alive" && p.State != "suspect") || (listed != nil && !listed[p.NodeID]) {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				qctx, cancel := context.WithTimeout(ctx, spreadTimeout)
				defer cancel()
				if rep, err := r.request(qctx, p.NodeID, remoteMsg{Op: "resolve", Name: name, Meth: method}); err == nil && rep.Has {
					mu.Lock()
					rs.nodes = append(rs.nodes, p.NodeID)
					rs.idem = rs.idem && rep.Idempotent
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		r.mu.Lock()
		if old := r.replicas[key]; old != nil {
			rs.next = old.next
		}
		r.replicas[key] = rs
		r.mu.Unlock()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(rs.nodes)
	var order, open []string
	for i := range n {
		node := rs.nodes[(rs.next+i)%n]
		if b := r.breakers[node]; b != nil && now.Before(b.until) {
			open = append(open, node)
			continue
		}
		order = append(order, node)
	}
	rs.next++
	return append(order, open...), rs.idem // nodes behind an open breaker only as a last resort
}

func (r *remote) outcome(node string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil || !errors.Is(err, cluster.ErrUnreachable) {
		delete(r.breakers, node)
		return
	}
	b := r.breakers[node]
	if b == nil {
		b = &breaker{}
		r.breakers[node] = b
	}
	b.fails++
	if b.fails >= breakerFailures {
		b.until = time.Now().Add(breakerOpen)
	}
}

// fresh reports whether a spread message is new here (and remembers it).
func (r *remote) fresh(origin string, id uint64) bool {
	key := fmt.Sprintf("%s/%d", origin, id)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.seen[key]; dup {
		return false
	}
	r.seen[key] = struct{}{}
	r.order = append(r.order, key)
	if len(r.order) > dedupSize {
		delete(r.seen, r.order[0])
		r.order = r.order[1:]
	}
	return true
}

// serveRemote answers a cross-node message from node from.
func (d *Daemon) serveRemote(ctx context.Context, from string, body []byte) ([]byte, error) {
	var m remoteMsg
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, &cluster.RemoteError{Code: "invalid", Message: err.Error()}
	}
	var out remoteReply
	var err error
	switch m.Op {
	case "checkpoint":
		if d.chain == nil {
			return nil, fmt.Errorf("daemon: this node's chain is not open")
		}
		st, err := witness.Make(d.chain, m.Since)
		if err != nil {
			return nil, err
		}
		return json.Marshal(remoteReply{Statement: &st})
	case "deliver", "service", "spread":
		if m.Env == nil {
			return nil, &cluster.RemoteError{Code: "invalid", Message: "no envelope"}
		}
		if m.Op == "spread" && !d.remote.fresh(from, m.Env.ID) {
			break // delivered already
		}
		out.Env, err = d.kernel.Inbound(ctx, from, m.Env)
	case "resolve":
		out.Has = d.kernel.HasService(m.Name, m.Meth)
		out.Idempotent = out.Has && d.kernel.MethodIdempotent(m.Name, m.Meth)
	case "spawn":
		out.PID, err = d.remoteSpawn(ctx, from, m.Spawn)
	case "ps":
		out.Procs = d.kernel.PS(m.Exited)
	default:
		err = fmt.Errorf("%w: unknown cross-node operation %q", kernel.ErrInvalid, m.Op)
	}
	if err != nil {
		code := kernel.Code(err)
		if code == "" || code == "internal" {
			if c := outerCode(err); c != "" {
				code = c
			}
		}
		return nil, &cluster.RemoteError{Code: code, Message: err.Error()}
	}
	return json.Marshal(out)
}

// remoteSpawn spawns a process asked for by another member: governed here,
// as agent.spawn with the asking node as the subject.
func (d *Daemon) remoteSpawn(ctx context.Context, from string, req *apitype.SpawnRequest) (kernel.PID, error) {
	if req == nil {
		return 0, fmt.Errorf("%w: no spawn request", kernel.ErrInvalid)
	}
	kind := req.Kind
	if kind == "" {
		kind = kernel.MailboxKind
	}
	caps := d.DefaultCaps()
	if req.Caps != nil {
		caps = *req.Caps
	}
	ctx = context.WithValue(ctx, remoteOriginKey{}, from)
	return d.kernel.Spawn(ctx, kernel.SpawnSpec{Name: req.Name, Kind: kind, Args: req.Args, Parent: req.Parent, Caps: caps})
}

// handleClusterSpawn spawns a process on another member (weave agent spawn
// --node): the target node governs it.
func (d *Daemon) handleClusterSpawn(w http.ResponseWriter, r *http.Request) {
	var req apitype.ClusterSpawnRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	if req.Node == d.id.NodeID {
		d.fail(w, fmt.Errorf("%w: spawn on this node without --node", kernel.ErrInvalid))
		return
	}
	rep, err := d.remote.request(r.Context(), req.Node, remoteMsg{Op: "spawn", Spawn: &req.Spawn})
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, apitype.ClusterSpawnResponse{Node: req.Node, PID: rep.PID})
}

// clusterPSTimeout bounds how long weave ps --cluster waits for a member.
const clusterPSTimeout = 3 * time.Second

// handleClusterProcesses lists every member's processes (weave ps
// --cluster), asking the members membership sees alive in parallel; a
// member that cannot be asked is listed with the reason.
func (d *Daemon) handleClusterProcesses(w http.ResponseWriter, r *http.Request) {
	peers, err := d.cluster.Peers()
	if err != nil {
		d.fail(w, err)
		return
	}
	exited := r.URL.Query().Get("exited") == "1"
	out := make([]apitype.ClusterNodeProcesses, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		out[i] = apitype.ClusterNodeProcesses{NodeID: p.NodeID, Name: p.Name, State: p.State, Self: p.Self, Processes: []kernel.Info{}}
		switch {
		case p.Self:
			out[i].Processes = d.kernel.PS(exited)
		case p.State != "alive" && p.State != "suspect":
			out[i].Error = "not asked: the member is " + p.State
		default:
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(r.Context(), clusterPSTimeout)
				defer cancel()
				rep, err := d.remote.request(ctx, p.NodeID, remoteMsg{Op: "ps", Exited: exited})
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
	localapi.WriteJSON(w, out)
}
