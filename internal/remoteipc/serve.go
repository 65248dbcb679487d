package remoteipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/cluster"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/witness"
)

// ErrNoChain means this node's chain is not open: it has no checkpoint to
// state.
var ErrNoChain = errors.New("remoteipc: this node's chain is not open")

// Serve answers a cross-node message from node from (the cluster's IPC
// handler). An error goes back as a *cluster.RemoteError carrying its
// code, which the asking node turns back into the sentinel.
func (r *Remote) Serve(ctx context.Context, from string, body []byte) ([]byte, error) {
	var m Msg
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, &cluster.RemoteError{Code: "invalid", Message: err.Error()}
	}
	var out Reply
	var err error
	switch m.Op {
	case "checkpoint":
		if r.chain == nil {
			return nil, ErrNoChain
		}
		st, err := witness.Make(r.chain, m.Since)
		if err != nil {
			return nil, err
		}
		return json.Marshal(Reply{Statement: &st})
	case "deliver", "service", "spread":
		if m.Env == nil {
			return nil, &cluster.RemoteError{Code: "invalid", Message: "no envelope"}
		}
		if m.Op == "spread" && !r.fresh(from, m.Env.ID) {
			break // delivered already
		}
		out.Env, err = r.kernel.Inbound(ctx, from, m.Env)
	case "resolve":
		out.Has = r.kernel.HasService(m.Name, m.Meth)
		out.Idempotent = out.Has && r.kernel.MethodIdempotent(m.Name, m.Meth)
	case "spawn":
		out.PID, err = r.spawn(ctx, from, m.Spawn)
	case "ps":
		out.Procs = r.kernel.PS(m.Exited)
	default:
		err = fmt.Errorf("%w: unknown cross-node operation %q", kernel.ErrInvalid, m.Op)
	}
	if err != nil {
		code := kernel.Code(err)
		if code == "" || code == "internal" {
			if c := r.codes(err); c != "" {
				code = c
			}
		}
		return nil, &cluster.RemoteError{Code: code, Message: err.Error()}
	}
	return json.Marshal(out)
}

// spawn spawns a process asked for by another member: governed here, as
// agent.spawn with the asking node as the subject.
func (r *Remote) spawn(ctx context.Context, from string, req *apitype.SpawnRequest) (kernel.PID, error) {
	if req == nil {
		return 0, fmt.Errorf("%w: no spawn request", kernel.ErrInvalid)
	}
	kind := req.Kind
	if kind == "" {
		kind = kernel.MailboxKind
	}
	caps := r.caps
	if req.Caps != nil {
		caps = *req.Caps
	}
	return r.spawner.SpawnFor(ctx, from, kernel.SpawnSpec{Name: req.Name, Kind: kind, Args: req.Args, Parent: req.Parent, Caps: caps})
}

// fresh reports whether a spread message is new here (and remembers it,
// among the last dedupSize).
func (r *Remote) fresh(origin string, id uint64) bool {
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
