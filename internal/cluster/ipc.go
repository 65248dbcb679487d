package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/mesh"
)

// ipcMessage is a cross-node IPC request or its reply (chanIPC, JSON).
type ipcMessage struct {
	ID    uint64          `json:"id"`
	Op    string          `json:"op,omitempty"` // "": the IPC handler's; raft.propose: the cluster's own
	Reply bool            `json:"reply,omitempty"`
	Body  json.RawMessage `json:"body,omitempty"`
	Code  string          `json:"code,omitempty"`
	Error string          `json:"error,omitempty"`
}

// RemoteError is an error a remote node answered a request with; Code is
// the remote layer's stable code (the kernel's, for IPC).
type RemoteError struct {
	Node    string
	Code    string
	Message string
}

func (e *RemoteError) Error() string { return fmt.Sprintf("node %s: %s", e.Node, e.Message) }

// ipcRequests pairs requests with replies.
type ipcRequests struct {
	mu      sync.Mutex
	seq     uint64
	pending map[uint64]chan ipcMessage
}

func (q *ipcRequests) add() (uint64, chan ipcMessage) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending == nil {
		q.pending = map[uint64]chan ipcMessage{}
	}
	q.seq++
	ch := make(chan ipcMessage, 1)
	q.pending[q.seq] = ch
	return q.seq, ch
}

func (q *ipcRequests) remove(id uint64) {
	q.mu.Lock()
	delete(q.pending, id)
	q.mu.Unlock()
}

func (q *ipcRequests) complete(m ipcMessage) {
	q.mu.Lock()
	ch := q.pending[m.ID]
	delete(q.pending, m.ID)
	q.mu.Unlock()
	if ch != nil {
		ch <- m
	}
}

// ipcTimeout bounds a request without a deadline.
const ipcTimeout = 30 * time.Second

// Request sends body to node's IPC handler and returns its answer. A
// handler's error comes back as a *RemoteError.
func (n *Node) Request(ctx context.Context, node string, body []byte) ([]byte, error) {
	return n.request(ctx, node, "", body)
}

func (n *Node) request(ctx context.Context, node, op string, body []byte) ([]byte, error) {
	n.mu.Lock()
	run, reg := n.run, n.reg
	n.mu.Unlock()
	if run == nil {
		return nil, ErrNotInCluster
	}
	if _, ok := reg.Member(node); !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownNode, node)
	}
	addr, ok := run.ms.addrs()[node]
	if !ok {
		return nil, fmt.Errorf("%w: %s is not alive", ErrUnreachable, node)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ipcTimeout)
		defer cancel()
	}
	id, ch := n.ipc.add()
	defer n.ipc.remove(id)
	b, err := json.Marshal(ipcMessage{ID: id, Op: op, Body: body})
	if err != nil {
		return nil, err
	}
	if err := run.send(ctx, node, addr, chanIPC, b); err != nil {
		return nil, err
	}
	select {
	case m := <-ch:
		if m.Error != "" || m.Code != "" {
			return nil, &RemoteError{Node: node, Code: m.Code, Message: m.Error}
		}
		return m.Body, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: no answer from %s: %w", ErrUnreachable, node, ctx.Err())
	}
}

// handleIPC serves a cross-node IPC message that arrived on l: a reply
// completes a request; a request runs the IPC handler (in its own
// goroutine, owned by the runtime) and its answer goes back on l.
func (n *Node) handleIPC(ctx context.Context, l *mesh.Link, b []byte) {
	var m ipcMessage
	if err := json.Unmarshal(b, &m); err != nil {
		n.log.Warn("cluster: a malformed IPC message", "peer", l.Peer().NodeID, "err", err)
		return
	}
	if m.Reply {
		n.ipc.complete(m)
		return
	}
	n.mu.Lock()
	run := n.run
	n.mu.Unlock()
	if run == nil {
		return
	}
	run.wg.Add(1)
	go func() {
		defer run.wg.Done()
		reply := ipcMessage{ID: m.ID, Reply: true}
		if m.Op == ipcOpPropose {
			if body, err := n.serveProposal(ctx, l.Peer().NodeID, m.Body); err != nil {
				reply.Error = err.Error()
				var re *RemoteError
				if errors.As(err, &re) {
					reply.Code, reply.Error = re.Code, re.Message
				}
			} else {
				reply.Body = body
			}
		} else if m.Op == ipcOpCommitIndex {
			if body, err := n.serveCommitIndex(); err != nil {
				reply.Code, reply.Error = codeNoLeader, err.Error()
			} else {
				reply.Body = body
			}
		} else if m.Op != "" {
			reply.Code, reply.Error = "unknown_op", fmt.Sprintf("cluster: unknown IPC operation %q", m.Op)
		} else if n.cfg.IPC == nil {
			reply.Code, reply.Error = "mesh_not_enabled", errNoIPC.Error()
		} else if body, err := n.cfg.IPC(ctx, l.Peer().NodeID, m.Body); err != nil {
			var re *RemoteError
			if errors.As(err, &re) {
				reply.Code = re.Code
			}
			reply.Error = err.Error()
		} else {
			reply.Body = body
		}
		out, err := json.Marshal(reply)
		if err != nil {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, ipcTimeout)
		defer cancel()
		_ = l.Send(sctx, append([]byte{chanIPC}, out...))
	}()
}
