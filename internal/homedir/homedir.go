// Package homedir names the files and folders of a node's home directory:
// the layout shared by the daemon that owns the home and the tools that
// read it while no daemon runs (the CLI's offline chain commands, doctor).
package homedir

// Names relative to the home.
const (
	Lock         = "weave.lock"        // held by the running daemon
	PID          = "weave.pid"         // the running daemon's OS PID
	Log          = "weave.log"         // the daemon's log (rotated: weave.log.1, …)
	Stderr       = "weave.stderr"      // a detached daemon's stdout and stderr
	Cron         = "cron.json"         // persisted cron jobs
	PIDSeq       = "pid.next"          // the next kernel PID, across restarts
	Chain        = "chain"             // the ExoChain's directory
	Constitution = "constitution.toml" // the constitution file an operator edits
	Memory       = "memory"            // semantic memory
	Tools        = "tools"             // installed WASM tools
	Cluster      = "cluster.json"      // the node's cluster: genesis, admissions, removals, invites it issued
	Raft         = "raft"              // the cluster's replicated log (Raft log and snapshots)
	Replicated   = "replicated.json"   // the last replicated entry this node acted on
	Witness      = "witness.json"      // what this node witnessed of its peers' chains
)
