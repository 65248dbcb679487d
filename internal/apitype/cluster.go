package apitype

import (
	"time"

	"github.com/weftos/weftos/internal/kernel"
)

// ClusterInitRequest is the body of POST /v1/cluster/init: create a
// cluster with this node as its genesis member (governed as cluster.init).
type ClusterInitRequest struct {
	// Name labels the cluster.
	Name string `json:"name"`
	// NodeName labels this node (default: its node id).
	NodeName string `json:"node_name,omitempty"`
	// Listen and Advertise override mesh.listen and mesh.advertise.
	Listen    string `json:"listen,omitempty"`
	Advertise string `json:"advertise,omitempty"`
}

// ClusterInviteRequest is the body of POST /v1/cluster/invites.
type ClusterInviteRequest struct {
	// TTLMS is how long the invite is valid, in milliseconds (default one
	// hour, at most 30 days).
	TTLMS int64 `json:"ttl_ms,omitempty"`
}

// ClusterInvite answers POST /v1/cluster/invites: a signed, expiring,
// single-use token, redeemed at this node (docs/MESH.md).
type ClusterInvite struct {
	Token   string    `json:"token"`
	TokenID string    `json:"token_id"`
	Cluster string    `json:"cluster"`
	Issuer  string    `json:"issuer"`
	Expires time.Time `json:"expires"`
	Addrs   []string  `json:"addrs"`
}

// ClusterJoinRequest is the body of POST /v1/cluster/join: redeem an
// invite at its issuer (governed as cluster.join here, cluster.admit
// there).
type ClusterJoinRequest struct {
	Token     string `json:"token"`
	NodeName  string `json:"node_name,omitempty"`
	Listen    string `json:"listen,omitempty"`
	Advertise string `json:"advertise,omitempty"`
}

// ClusterRemoveRequest is the body of POST /v1/cluster/remove: remove a
// member (governed as cluster.remove; every member then refuses it).
type ClusterRemoveRequest struct {
	Node   string `json:"node"`
	Reason string `json:"reason,omitempty"`
}

// ClusterStatus answers GET /v1/cluster and the cluster acts.
type ClusterStatus struct {
	InCluster bool   `json:"in_cluster"`
	Cluster   string `json:"cluster,omitempty"`
	Name      string `json:"name,omitempty"`
	NodeID    string `json:"node_id"`
	NodeName  string `json:"node_name,omitempty"`
	Advertise string `json:"advertise,omitempty"`
	// Genesis is the node id of the cluster's first member.
	Genesis string `json:"genesis,omitempty"`
	// Members counts current members (this node included), Alive those
	// membership sees alive, Removed the nodes removed or left.
	Members        int        `json:"members"`
	Alive          int        `json:"alive"`
	Removed        int        `json:"removed"`
	JoinedAt       *time.Time `json:"joined_at,omitempty"`
	AllowClassical bool       `json:"allow_classical"`
	// Consensus is the replicated log as this node sees it.
	Consensus *ClusterConsensus `json:"consensus,omitempty"`
}

// ClusterConsensus is a node's view of the cluster's Raft log and of the
// committed constitution.
type ClusterConsensus struct {
	State       string   `json:"state"` // leader, follower, candidate
	Leader      string   `json:"leader,omitempty"`
	Term        uint64   `json:"term"`
	CommitIndex uint64   `json:"commit_index"`
	Applied     uint64   `json:"applied_index"`
	Voters      []string `json:"voters"`
	// Committed is the hash of the cluster's committed constitution, InForce
	// the one this node decides with; Behind says why this node may not
	// decide (they differ, or it has not caught up).
	Committed string `json:"committed_constitution,omitempty"`
	InForce   string `json:"constitution_in_force"`
	Behind    string `json:"behind,omitempty"`
}

// ClusterPeer is one member as this node sees it (GET /v1/cluster/peers).
type ClusterPeer struct {
	NodeID string `json:"node_id"`
	Name   string `json:"name,omitempty"`
	Addr   string `json:"addr,omitempty"`
	// State is alive, suspect, dead, left, removed, or unknown (not seen
	// by membership yet).
	State     string     `json:"state"`
	Self      bool       `json:"self,omitempty"`
	RTTMicros int64      `json:"rtt_us"`
	LastSeen  *time.Time `json:"last_seen,omitempty"`
	// ChainSize and ChainHead are the member's chain length and head event
	// hash, as its last ping acknowledgement said.
	ChainSize uint64 `json:"chain_size"`
	ChainHead string `json:"chain_head,omitempty"`
	// Witnessed is the size of the member's last checkpoint this node
	// witnessed as consistent; Forked says its chain was forked or
	// rewritten (Fork says how).
	Witnessed uint64 `json:"witnessed"`
	Forked    bool   `json:"forked,omitempty"`
	Fork      string `json:"fork,omitempty"`
}

// ChainWitness is what this node witnessed of one member's chain (GET
// /v1/chain/witnesses).
type ChainWitness struct {
	Node      string    `json:"node"`
	Size      uint64    `json:"size"`
	Root      string    `json:"root"` // base64, as in checkpoint text
	Signed    time.Time `json:"signed"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	Witnessed int       `json:"witnessed"` // checkpoints witnessed
	Forked    bool      `json:"forked"`
	Reason    string    `json:"reason,omitempty"`
	// EvidenceSize and EvidenceRoot are the checkpoint that does not
	// extend the one witnessed.
	EvidenceSize uint64     `json:"evidence_size,omitempty"`
	EvidenceRoot string     `json:"evidence_root,omitempty"`
	ForkedAt     *time.Time `json:"forked_at,omitempty"`
}

// ClusterSpawnRequest is the body of POST /v1/cluster/spawn: spawn a
// process on another member (weave agent spawn --node), decided by that
// node's governance with this node as the subject.
type ClusterSpawnRequest struct {
	Node  string       `json:"node"`
	Spawn SpawnRequest `json:"spawn"`
}

// ClusterNodeProcesses is one member's process table in GET
// /v1/cluster/processes: its processes, or why it could not be asked.
type ClusterNodeProcesses struct {
	NodeID    string        `json:"node_id"`
	Name      string        `json:"name,omitempty"`
	State     string        `json:"state"` // the member's state as membership sees it
	Self      bool          `json:"self,omitempty"`
	Processes []kernel.Info `json:"processes"`
	// Error says why the member's table is missing (unreachable, not
	// alive); empty when Processes is its table.
	Error string `json:"error,omitempty"`
}

// ClusterSpawnResponse answers POST /v1/cluster/spawn.
type ClusterSpawnResponse struct {
	Node string     `json:"node"`
	PID  kernel.PID `json:"pid"`
}
