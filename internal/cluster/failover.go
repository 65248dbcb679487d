package cluster

import (
	"context"
	"errors"
	"slices"
)

// KindFailover is the event of a request failed over from one node to
// another (FailoverEvent).
const KindFailover = "ipc.failover"

// FailoverEvent records one failover: the request went unanswered by (or
// could not be sent to) From and goes to To.
type FailoverEvent struct {
	Request string `json:"request"`        // the request id
	What    string `json:"what,omitempty"` // what the request is for (e.g. service:NAME.METHOD)
	From    string `json:"from"`
	To      string `json:"to"`
	// Sent: the request may have reached From (ErrNoReply), so it is sent
	// again (it is idempotent); otherwise it never left (ErrNotSent).
	Sent       bool   `json:"sent"`
	Reason     string `json:"reason"` // RequestError.Reason
	Idempotent bool   `json:"idempotent,omitempty"`
}

// Call is a request that any of several replicas can answer.
type Call struct {
	Body []byte
	// Idempotent: the request may be sent again after it went unanswered
	// (once), to another replica or to the same node (which then runs it
	// at most once).
	Idempotent bool
	// What names the request in failover records.
	What string
	// Outcome, when set, is told each attempt's result (a circuit
	// breaker's input).
	Outcome func(node string, err error)
}

// RequestAny sends call to the first of nodes that answers and returns
// that node and its answer. The request keeps one id across attempts.
//
//   - Not sent (ErrNotSent: the node is not alive, no link): it never ran
//     there, so the next node is tried, whatever the request.
//   - Sent, no reply (ErrNoReply: the link closed, the node was declared
//     dead): a request not idempotent fails at once with that error,
//     never run again; an idempotent one is retried once, on the next
//     node, or on the same node when it is the only one left and
//     membership still sees it alive (a broken link, not a death; its
//     deduplication answers without running it twice).
//   - An answer, even an error (*RemoteError), or the context's end, ends
//     it.
//
// Each failover is reported as KindFailover before the next attempt.
func (n *Node) RequestAny(ctx context.Context, nodes []string, call Call) (string, []byte, error) {
	if len(nodes) == 0 {
		return "", nil, ErrUnknownNode
	}
	opts := RequestOptions{ID: NewRequestID(), Idempotent: call.Idempotent}
	queue := slices.Clone(nodes)
	retried := false
	var errs []error
	for len(queue) > 0 {
		node := queue[0]
		queue = queue[1:]
		body, err := n.RequestWith(ctx, node, call.Body, opts)
		if call.Outcome != nil {
			call.Outcome(node, err)
		}
		if err == nil {
			return node, body, nil
		}
		errs = append(errs, err)
		var re *RequestError
		if !errors.As(err, &re) || ctx.Err() != nil {
			return node, nil, err
		}
		if re.Sent {
			if !call.Idempotent || retried {
				return node, nil, err
			}
			retried = true
			if re.Reason == ReasonLinkClosed && len(queue) == 0 && n.seesAlive(node) {
				queue = append(queue, node)
			}
		}
		if len(queue) == 0 {
			break
		}
		n.cfg.Events.Event(KindFailover, FailoverEvent{Request: opts.ID, What: call.What, From: node, To: queue[0], Sent: re.Sent,
			Reason: re.Reason, Idempotent: call.Idempotent})
	}
	return "", nil, errors.Join(errs...)
}

// seesAlive reports whether membership sees node alive (or suspect).
func (n *Node) seesAlive(node string) bool {
	n.mu.Lock()
	run := n.run
	n.mu.Unlock()
	if run == nil {
		return false
	}
	_, ok := run.ms.alive(node)
	return ok
}
