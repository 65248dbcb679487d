//go:build wasip1 || js

package cluster

import "time"

// ConsensusConfig tunes Raft. On wasip1 and js a node cannot be in a
// cluster (membership does not build), so there is no Raft either.
type ConsensusConfig struct {
	HeartbeatTimeout time.Duration
	ElectionTimeout  time.Duration
	Reconcile        time.Duration
}

func newConsensus(*runtime, string, bool) (consensus, error) { return nil, ErrUnsupported }
