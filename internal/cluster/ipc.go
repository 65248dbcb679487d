package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/mesh"
)

// ipcMessage is a cross-node IPC request or its reply (chanIPC, JSON).
type ipcMessage struct {
	// ID pairs a reply with its request on the sender (a sequence number
	// of the sender's; a retry has another).
	ID uint64 `json:"id"`
	// RID is the request's id (NewRequestID): the same for every attempt
	// of one request, the key the receiver deduplicates by.
	RID string `json:"rid,omitempty"`
	// Idem marks a request the sender may send again (idempotent): the
	// receiver runs it at most once per RID and answers a repeat with the
	// first answer.
	Idem  bool            `json:"idem,omitempty"`
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

// Why a request failed without an answer (RequestError.Reason).
const (
	ReasonNotAlive   = "not_alive"     // not sent: membership does not see the node alive
	ReasonNoLink     = "no_link"       // not sent: no link to the node could be made
	ReasonSendFailed = "send_failed"   // not sent: the link failed before the message was written whole
	ReasonLinkClosed = "link_closed"   // sent: the link it went on closed before the reply came
	ReasonDead       = "declared_dead" // sent: membership declared the node dead (or gone) before the reply came
	ReasonDeadline   = "deadline"      // sent: the context ended before the reply came
)

// RequestError is a cross-node request that got no answer. Sent says
// whether it may have reached the node: a request not sent (ErrNotSent)
// never ran there and may go elsewhere; one sent and unanswered
// (ErrNoReply) may or may not have run, so only an idempotent request may
// be sent again. Both are also ErrUnreachable.
type RequestError struct {
	Node   string
	ID     string // the request id
	Sent   bool
	Reason string // one of the Reason constants
	Err    error
}

func (e *RequestError) Error() string {
	if e.Sent {
		return fmt.Sprintf("cluster: request %s to %s sent, no reply (%s): %v", e.ID, e.Node, e.Reason, e.Err)
	}
	return fmt.Sprintf("cluster: request %s to %s not sent (%s): %v", e.ID, e.Node, e.Reason, e.Err)
}

// Unwrap makes a RequestError ErrNotSent or ErrNoReply, ErrUnreachable,
// and its cause.
func (e *RequestError) Unwrap() []error {
	s := ErrNotSent
	if e.Sent {
		s = ErrNoReply
	}
	return []error{s, ErrUnreachable, e.Err}
}

var (
	errLinkClosed = errors.New("the link closed")
	errDead       = errors.New("the node was declared dead")
)

// NewRequestID returns a fresh request id: 16 random bytes, hex.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ipcRequests pairs requests with replies, and fails the requests in
// flight on a link that closed or to a node declared dead.
type ipcRequests struct {
	mu      sync.Mutex
	seq     uint64
	pending map[uint64]*pendingRequest
}

type pendingRequest struct {
	id   uint64
	rid  string
	node string
	link *mesh.Link
	ch   chan ipcResult // one result, buffered
}

type ipcResult struct {
	msg ipcMessage
	err error
}

func (q *ipcRequests) add(node, rid string, l *mesh.Link) *pendingRequest {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending == nil {
		q.pending = map[uint64]*pendingRequest{}
	}
	q.seq++
	p := &pendingRequest{id: q.seq, rid: rid, node: node, link: l, ch: make(chan ipcResult, 1)}
	q.pending[q.seq] = p
	return p
}

func (q *ipcRequests) remove(id uint64) {
	q.mu.Lock()
	delete(q.pending, id)
	q.mu.Unlock()
}

// complete hands a reply from node from to its request; a reply from
// another node than the one asked is ignored.
func (q *ipcRequests) complete(m ipcMessage, from string) {
	q.mu.Lock()
	p := q.pending[m.ID]
	if p == nil || p.node != from {
		q.mu.Unlock()
		return
	}
	delete(q.pending, m.ID)
	q.mu.Unlock()
	p.ch <- ipcResult{msg: m}
}

// fail ends every pending request match selects with a sent-unanswered
// error.
func (q *ipcRequests) fail(match func(*pendingRequest) bool, reason string, cause error) {
	q.mu.Lock()
	var failed []*pendingRequest
	for id, p := range q.pending {
		if match(p) {
			delete(q.pending, id)
			failed = append(failed, p)
		}
	}
	q.mu.Unlock()
	for _, p := range failed {
		p.ch <- ipcResult{err: &RequestError{Node: p.node, ID: p.rid, Sent: true, Reason: reason, Err: cause}}
	}
}

// linkDown fails the requests sent on l, which closed: their replies
// would have come back on it.
func (q *ipcRequests) linkDown(l *mesh.Link) {
	q.fail(func(p *pendingRequest) bool { return p.link == l }, ReasonLinkClosed, errLinkClosed)
}

// nodeDown fails the requests sent to node, which membership declared
// dead or gone.
func (q *ipcRequests) nodeDown(node string) {
	q.fail(func(p *pendingRequest) bool { return p.node == node }, ReasonDead, errDead)
}

// ipcTimeout bounds a request without a deadline.
const ipcTimeout = 30 * time.Second

// RequestOptions qualify a cross-node request.
type RequestOptions struct {
	// ID is the request id (NewRequestID when empty). Every attempt of
	// one request carries the same.
	ID string
	// Idempotent marks a request that may be sent again after it went
	// unanswered: the receiver runs it at most once per ID (within its
	// deduplication window) and answers a repeat with the first answer.
	Idempotent bool
}

// Request sends body to node's IPC handler and returns its answer. A
// handler's error comes back as a *RemoteError; no answer as a
// *RequestError (ErrNotSent or ErrNoReply). The request is not
// idempotent: it is sent once.
func (n *Node) Request(ctx context.Context, node string, body []byte) ([]byte, error) {
	return n.request(ctx, node, "", body, RequestOptions{})
}

// RequestWith is Request with options.
func (n *Node) RequestWith(ctx context.Context, node string, body []byte, opts RequestOptions) ([]byte, error) {
	return n.request(ctx, node, "", body, opts)
}

// request sends one attempt of a request to node. It fails fast: a
// request that cannot be sent fails at once (ErrNotSent), and one in
// flight fails as soon as its link closes or membership declares the node
// dead (ErrNoReply), not at its deadline.
func (n *Node) request(ctx context.Context, node, op string, body []byte, opts RequestOptions) ([]byte, error) {
	n.mu.Lock()
	run, reg := n.run, n.reg
	n.mu.Unlock()
	if run == nil {
		return nil, ErrNotInCluster
	}
	if _, ok := reg.Member(node); !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownNode, node)
	}
	rid := opts.ID
	if rid == "" {
		rid = NewRequestID()
	}
	notSent := func(reason string, err error) error {
		return &RequestError{Node: node, ID: rid, Reason: reason, Err: err}
	}
	addr, ok := run.ms.alive(node)
	if !ok {
		return nil, notSent(ReasonNotAlive, errors.New("membership does not see it alive"))
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ipcTimeout)
		defer cancel()
	}
	l, err := run.member(ctx, node, addr)
	if err != nil {
		return nil, notSent(ReasonNoLink, err)
	}
	// Pending before the send: a reply, a closed link or a death that
	// comes right after it finds the request.
	p := n.ipc.add(node, rid, l)
	defer n.ipc.remove(p.id)
	b, err := json.Marshal(ipcMessage{ID: p.id, RID: rid, Idem: opts.Idempotent, Op: op, Body: body})
	if err != nil {
		return nil, err
	}
	// A Send that fails did not write the message's last record whole:
	// the node cannot have received it.
	if err := l.Send(ctx, append([]byte{chanIPC}, b...)); err != nil {
		run.untrack(l)
		return nil, notSent(ReasonSendFailed, err)
	}
	// Declared dead between the look-up and the send: nodeDown ran
	// before the request was pending.
	if _, ok := run.ms.alive(node); !ok {
		return nil, &RequestError{Node: node, ID: rid, Sent: true, Reason: ReasonDead, Err: errDead}
	}
	select {
	case res := <-p.ch:
		if res.err != nil {
			return nil, res.err
		}
		if m := res.msg; m.Error != "" || m.Code != "" {
			return nil, &RemoteError{Node: node, Code: m.Code, Message: m.Error}
		}
		return res.msg.Body, nil
	case <-ctx.Done():
		return nil, &RequestError{Node: node, ID: rid, Sent: true, Reason: ReasonDeadline, Err: ctx.Err()}
	}
}

// handleIPC serves a cross-node IPC message that arrived on l: a reply
// completes a request; a request runs (in its own goroutine, owned by the
// runtime) and its answer goes back on l. An idempotent request runs at
// most once per (sender, request id): a repeat waits for the first's
// answer and gets it.
func (n *Node) handleIPC(ctx context.Context, l *mesh.Link, b []byte) {
	var m ipcMessage
	if err := json.Unmarshal(b, &m); err != nil {
		n.log.Warn("cluster: a malformed IPC message", "peer", l.Peer().NodeID, "err", err)
		return
	}
	from := l.Peer().NodeID
	if m.Reply {
		n.ipc.complete(m, from)
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
		var reply ipcMessage
		if m.Idem && m.RID != "" {
			e, first, err := n.dedup.begin(from, m.RID, time.Now())
			switch {
			case err != nil:
				reply = ipcMessage{Code: codeBusy, Error: err.Error()}
			case first:
				reply = n.serveIPC(ctx, from, m)
				n.dedup.finish(e, reply)
			default:
				select {
				case <-e.done:
					reply = n.dedup.answer(e, m.RID)
				case <-ctx.Done():
					return
				}
			}
		} else {
			reply = n.serveIPC(ctx, from, m)
		}
		if ctx.Err() != nil && (reply.Error != "" || reply.Code != "") {
			// This node is stopping and the request was cut short: that
			// is no answer. The asker sees its link close (ErrNoReply)
			// and may fail an idempotent request over.
			return
		}
		reply.ID, reply.Reply = m.ID, true
		out, err := json.Marshal(reply)
		if err != nil {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, ipcTimeout)
		defer cancel()
		if err := l.Send(sctx, append([]byte{chanIPC}, out...)); err != nil && ctx.Err() == nil {
			// The link closed under the answer: the asker sees it close
			// (ErrNoReply) and may send the request again.
			n.log.Info("cluster: an answer could not be sent", "peer", from, "op", m.Op, "request", m.RID, "err", err)
		}
	}()
}

// serveIPC runs a request and returns its answer (ID and Reply unset).
func (n *Node) serveIPC(ctx context.Context, from string, m ipcMessage) ipcMessage {
	var reply ipcMessage
	if m.Op == ipcOpPropose {
		if body, err := n.serveProposal(ctx, from, m.Body); err != nil {
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
	} else if body, err := n.cfg.IPC(ctx, from, m.Body); err != nil {
		var re *RemoteError
		if errors.As(err, &re) {
			reply.Code = re.Code
		}
		reply.Error = err.Error()
	} else {
		reply.Body = body
	}
	return reply
}
