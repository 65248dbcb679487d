package governance

import "encoding/json"

// Chain event kinds of the cluster (internal/cluster, docs/MESH.md).
const (
	// Acts (ActRecord with a ClusterDetail).
	KindClusterInit   = "cluster.init"   // genesis: this node created a cluster
	KindClusterInvite = "cluster.invite" // an invite issued (its id and expiry, never the token)
	KindClusterJoin   = "cluster.join"   // this node joined a cluster
	KindClusterAdmit  = "cluster.admit"  // this node admitted a joiner (redeeming its invite)
	KindClusterLeave  = "cluster.leave"  // this node left its cluster
	KindClusterRemove = "cluster.remove" // this node removed a member

	// Observations.
	KindClusterMember = "cluster.member"      // a membership change seen here (admitted, alive, dead, left, removed)
	KindMeshRefusal   = "mesh.refusal"        // a refused handshake, link or join
	KindMeshClassical = "mesh.classical_link" // a link without ML-KEM (allowed by configuration)
	KindChainWitness  = "chain.witness"       // a member's signed checkpoint, witnessed consistent with the last
	KindChainFork     = "chain.fork"          // a member's chain was forked or rewritten (with the evidence)
	KindIPCFailover   = "ipc.failover"        // a cross-node request failed over from one node to another (request id, from, to, sent, reason)
)

// ClusterDetail is the Detail of the cluster.* acts.
type ClusterDetail struct {
	Cluster string `json:"cluster"`
	// Node is the node acted on: the joiner admitted, the member removed,
	// this node for init, join and leave.
	Node    string `json:"node"`
	Name    string `json:"name,omitempty"`
	Addr    string `json:"addr,omitempty"`
	TokenID string `json:"token_id,omitempty"`
	Expires string `json:"expires,omitempty"` // an invite's expiry, RFC 3339
	Issuer  string `json:"issuer,omitempty"`  // the node that admitted (join, admit)
	Reason  string `json:"reason,omitempty"`
	// Genesis is the cluster's genesis admission (init), so the chain holds
	// what every member's admission verifies back to.
	Genesis json.RawMessage `json:"genesis,omitempty"`
}

func init() {
	for _, k := range []string{KindClusterInit, KindClusterInvite, KindClusterJoin, KindClusterAdmit, KindClusterLeave, KindClusterRemove} {
		kindSpecs[k] = KindSpec{Kind: k, Class: ClassAct, Detail: func() any { return &ClusterDetail{} }}
	}
	for _, k := range []string{KindClusterMember, KindMeshRefusal, KindMeshClassical, KindChainWitness, KindChainFork, KindIPCFailover} {
		kindSpecs[k] = KindSpec{Kind: k, Class: ClassObservation}
	}
}
