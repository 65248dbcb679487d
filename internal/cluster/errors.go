package cluster

import "errors"

// Errors of the cluster layer; the daemon maps each to a stable API code.
var (
	// ErrNotInCluster: the node is in no cluster (init or join first).
	ErrNotInCluster = errors.New("cluster: this node is not in a cluster")
	// ErrInCluster: the node is already in a cluster (leave first).
	ErrInCluster = errors.New("cluster: this node is already in a cluster")
	// ErrBadToken: an invite token is malformed or its signature does not
	// verify.
	ErrBadToken = errors.New("cluster: bad invite token")
	// ErrTokenExpired: an invite token's deadline passed.
	ErrTokenExpired = errors.New("cluster: invite token expired")
	// ErrTokenUsed: an invite token was already redeemed (single use), or
	// was not issued by the node it names.
	ErrTokenUsed = errors.New("cluster: invite token already used")
	// ErrRemoved: the node was removed from (or left) the cluster; it may
	// not come back with the same identity.
	ErrRemoved = errors.New("cluster: node removed from the cluster")
	// ErrNotMember: a node or admission is not part of this cluster.
	ErrNotMember = errors.New("cluster: not a member of this cluster")
	// ErrUnknownNode: no member has that node id.
	ErrUnknownNode = errors.New("cluster: no such member")
	// ErrJoinRefused: the member asked to admit this node refused.
	ErrJoinRefused = errors.New("cluster: join refused")
	// ErrUnreachable: no link to the node could be made.
	ErrUnreachable = errors.New("cluster: node unreachable")
	// ErrNotSent: a cross-node request was not sent (the node is not
	// alive, no link could be made, the link failed before the message
	// was written whole): it cannot have run there. A *RequestError.
	ErrNotSent = errors.New("cluster: request not sent")
	// ErrNoReply: a cross-node request was sent but no reply came: its
	// link closed, membership declared the node dead, or the deadline
	// passed. It may or may not have run there. A *RequestError.
	ErrNoReply = errors.New("cluster: request sent, no reply")
	// ErrUnsupported: membership is not available on this platform.
	ErrUnsupported = errors.New("cluster: not supported on this platform")
)
