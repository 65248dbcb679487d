// Package cluster turns WeftOS nodes into a cluster over the encrypted
// links of internal/mesh: genesis, signed expiring single-use invites,
// admission, leave and removal (a member registry that every member can
// verify back to the cluster's genesis, removals winning), SWIM membership
// (hashicorp/memberlist running over the mesh's links instead of its own
// UDP/TCP and shared AES key) and the messages that cross nodes.
//
// The package is a lower layer: it knows nothing of the daemon. What must
// be governed or recorded reaches the daemon through the small interfaces
// it declares (Admitter decides and records an admission asked by a remote
// node; Events receives what should go on the audit chain). The operator's
// own acts (init, invite, join, leave, remove) are governed by the daemon
// around the calls it makes. docs/MESH.md specifies the token, the
// admission records and the messages byte for byte.
package cluster
