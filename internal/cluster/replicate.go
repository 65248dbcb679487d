package cluster

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Replicated is the state machine the cluster's Raft log drives (the
// daemon's: the constitution and its amendments, the service registry).
// Every node applies the same committed commands in the same order.
//
// Apply must be deterministic in what it decides (accept or reject a
// command, the resulting state); it returns an error for a command it
// rejects, which is the proposer's answer. Failing to act on an accepted
// command locally (the chain cannot be written) must leave the node
// knowing it is behind (the daemon's gate then refuses to decide).
// Snapshot and Restore carry the whole state.
type Replicated interface {
	ApplyReplicated(ctx context.Context, cmd Command) error
	SnapshotReplicated() ([]byte, error)
	RestoreReplicated(ctx context.Context, state []byte) error
}

// Command is one entry of the replicated log.
type Command struct {
	// Index is the entry's position in the log (set when applied).
	Index uint64 `json:"index,omitempty"`
	// Kind names the command ("constitution.amend", "service.register"…);
	// kinds starting with "member." are the cluster's own.
	Kind string `json:"kind"`
	// From is the node that proposed it, as authenticated by its link to
	// the leader (never taken from the proposer's word).
	From string          `json:"from"`
	Body json.RawMessage `json:"body"`
	// Nonce identifies the proposal: drawn by the proposer, the same in
	// every attempt of it. It pairs the entry with the proposal waiting
	// for it, and the state machine applies a (From, Nonce) once.
	Nonce uint64 `json:"nonce,omitempty"`
}

// newNonce draws a proposal id (never 0).
func newNonce() (uint64, error) {
	var nb [8]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(nb[:]) | 1, nil
}

// Errors of consensus.
var (
	// ErrNoLeader: the cluster has no leader this node can reach (no
	// quorum), so nothing can commit.
	ErrNoLeader = errors.New("cluster: no consensus leader reachable")
	// ErrRejected: the replicated state machine rejected the command.
	ErrRejected = errors.New("cluster: command rejected by the replicated state")
)

// ConsensusStatus is this node's view of the Raft log.
type ConsensusStatus struct {
	Running     bool
	State       string // leader, follower, candidate, shutdown
	Leader      string // node id
	Term        uint64
	CommitIndex uint64
	AppliedIdx  uint64
	Voters      []string
}

// consensus is the Raft engine (hashicorp/raft over the mesh's links).
type consensus interface {
	propose(ctx context.Context, cmd Command) (uint64, error)
	status() ConsensusStatus
	progress() Progress
	isLeader() bool
	// caughtUp waits until every entry this node knows committed is applied.
	caughtUp(ctx context.Context) error
	waitApplied(ctx context.Context, index uint64) error
	accept(c *streamConn)
	reconcile()
	shutdown() error
}

// ipcOpPropose is the cluster's own IPC operation: a follower forwards a
// proposal to the leader.
const ipcOpPropose = "raft.propose"

// ipcOpCommitIndex asks the leader for its commit index (a follower's own
// may lag right after a restart).
const ipcOpCommitIndex = "raft.commit_index"

type proposeReply struct {
	Index uint64 `json:"index"`
}

// proposeRetryWindow bounds how long Propose retries a proposal (the
// state machine remembers the proposals it applied for longer).
const proposeRetryWindow = 2 * time.Minute

// proposeRetry is how often a proposal is retried while no leader is known.
const proposeRetry = 50 * time.Millisecond

// Propose commits a command through the cluster's Raft log and returns
// once this node has applied it (so this node's state includes it). A
// follower forwards it to the leader over its member link. It fails with
// ErrNoLeader when ctx ends before a leader could commit it, and with an
// error wrapping ErrRejected when the state machine refused it.
func (n *Node) Propose(ctx context.Context, kind string, body []byte) (uint64, error) {
	// Every attempt carries the same id: one that went unanswered may
	// have committed, and the state machine applies the proposal once.
	nonce, err := newNonce()
	if err != nil {
		return 0, err
	}
	cmd := Command{Kind: kind, From: n.id, Body: body, Nonce: nonce}
	until := time.Now().Add(proposeRetryWindow)
	for {
		n.mu.Lock()
		run := n.run
		n.mu.Unlock()
		if run == nil || run.cons == nil {
			return 0, ErrNotInCluster
		}
		idx, err := n.proposeOnce(ctx, run, cmd)
		if err == nil {
			if err := run.cons.waitApplied(ctx, idx); err != nil {
				return idx, err
			}
			return idx, nil
		}
		if !errors.Is(err, ErrNoLeader) {
			return 0, err
		}
		if time.Now().After(until) {
			return 0, fmt.Errorf("%w (retried for %s: the proposal may or may not have committed)", err, proposeRetryWindow)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%w: %w", err, ctx.Err())
		case <-time.After(proposeRetry):
		}
	}
}

func (n *Node) proposeOnce(ctx context.Context, run *runtime, cmd Command) (uint64, error) {
	if run.cons.isLeader() {
		return run.cons.propose(ctx, cmd)
	}
	leader := run.cons.status().Leader
	if leader == "" || leader == n.id {
		return 0, ErrNoLeader
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		return 0, err
	}
	out, err := n.request(ctx, leader, ipcOpPropose, b, RequestOptions{})
	if err != nil {
		var re *RemoteError
		if errors.As(err, &re) {
			switch re.Code {
			case codeNoLeader:
				return 0, ErrNoLeader
			case codeRejected:
				return 0, fmt.Errorf("%w: %s", ErrRejected, re.Message)
			}
		}
		if errors.Is(err, ErrUnreachable) {
			return 0, fmt.Errorf("%w: %w", ErrNoLeader, err)
		}
		return 0, err
	}
	var r proposeReply
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, fmt.Errorf("cluster: the leader's answer: %w", err)
	}
	return r.Index, nil
}

// serveProposal runs a proposal a follower forwarded. From is the
// authenticated peer, whatever the proposer claimed.
func (n *Node) serveProposal(ctx context.Context, from string, body []byte) ([]byte, error) {
	n.mu.Lock()
	run := n.run
	n.mu.Unlock()
	if run == nil || run.cons == nil {
		return nil, &RemoteError{Node: n.id, Code: codeNoLeader, Message: ErrNotInCluster.Error()}
	}
	var cmd Command
	if err := json.Unmarshal(body, &cmd); err != nil {
		return nil, &RemoteError{Node: n.id, Code: codeRejected, Message: err.Error()}
	}
	cmd.From = from // the proposal id (Nonce) is the proposer's: its retries repeat it
	if !run.cons.isLeader() {
		return nil, &RemoteError{Node: n.id, Code: codeNoLeader, Message: "not the leader"}
	}
	idx, err := run.cons.propose(ctx, cmd)
	if err != nil {
		code := codeNoLeader
		if errors.Is(err, ErrRejected) {
			code = codeRejected
		}
		return nil, &RemoteError{Node: n.id, Code: code, Message: err.Error()}
	}
	return json.Marshal(proposeReply{Index: idx})
}

// serveCommitIndex answers a follower's question for the leader's commit
// index.
func (n *Node) serveCommitIndex() ([]byte, error) {
	n.mu.Lock()
	run := n.run
	n.mu.Unlock()
	if run == nil || run.cons == nil || !run.cons.isLeader() {
		return nil, &RemoteError{Node: n.id, Code: codeNoLeader, Message: "not the leader"}
	}
	return json.Marshal(proposeReply{Index: run.cons.status().CommitIndex})
}

// leaderCommitIndex asks leader for its commit index.
func (n *Node) leaderCommitIndex(ctx context.Context, leader string) (uint64, error) {
	out, err := n.request(ctx, leader, ipcOpCommitIndex, nil, RequestOptions{})
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNoLeader, err)
	}
	var r proposeReply
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, fmt.Errorf("cluster: the leader's answer: %w", err)
	}
	return r.Index, nil
}

// CatchUp waits until this node has applied every entry it knows to be
// committed (bounded by ctx). A node in no cluster is always caught up.
func (n *Node) CatchUp(ctx context.Context) error {
	n.mu.Lock()
	run := n.run
	n.mu.Unlock()
	if run == nil || run.cons == nil {
		return nil
	}
	return run.cons.caughtUp(ctx)
}

// Progress is the cheap part of ConsensusStatus, for every decision.
type Progress struct {
	Running     bool
	Leader      string
	CommitIndex uint64
	AppliedIdx  uint64
}

// Progress returns how far this node has applied the log it knows.
func (n *Node) Progress() Progress {
	n.mu.Lock()
	run := n.run
	n.mu.Unlock()
	if run == nil || run.cons == nil {
		return Progress{}
	}
	return run.cons.progress()
}

// Consensus returns this node's view of the replicated log.
func (n *Node) Consensus() ConsensusStatus {
	n.mu.Lock()
	run := n.run
	n.mu.Unlock()
	if run == nil || run.cons == nil {
		return ConsensusStatus{}
	}
	return run.cons.status()
}

// The cluster's own command kinds: the member registry.
const (
	kindMemberAdmit  = "member.admit"  // body: an admission path (JSON array of admissions)
	kindMemberRemove = "member.remove" // body: a removal (or leave)
)

// replicateMember commits an admission or a removal through the log, in
// the background (owned by the runtime): every member's registry then
// holds it whether or not gossip reached it.
func (n *Node) replicateMember(kind string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
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
		ctx, cancel := context.WithTimeout(run.ctx, 10*time.Second)
		defer cancel()
		if _, err := n.Propose(ctx, kind, b); err != nil && run.ctx.Err() == nil {
			n.log.Warn("cluster: a membership change was not committed through the log (gossip still carries it)", "kind", kind, "err", err)
		}
	}()
}

// applyMember applies a committed admission path or removal to the
// registry. Each verifies on its own (signatures back to the genesis), so
// every node reaches the same registry.
func (n *Node) applyMember(cmd Command) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.reg == nil {
		return nil // left the cluster meanwhile
	}
	changed := false
	switch cmd.Kind {
	case kindMemberAdmit:
		var path []Admission
		if err := json.Unmarshal(cmd.Body, &path); err != nil {
			return fmt.Errorf("%w: %w", ErrRejected, err)
		}
		added, err := n.reg.Add(path)
		for _, a := range added {
			changed = true
			n.cfg.Events.Event(KindMember, MemberEvent{Cluster: n.reg.Cluster().String(), Node: a.NodeID(), Name: a.Name, State: "admitted",
				By: a.Issuer.NodeID()})
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrRejected, err)
		}
	case kindMemberRemove:
		var rm Removal
		if err := json.Unmarshal(cmd.Body, &rm); err != nil {
			return fmt.Errorf("%w: %w", ErrRejected, err)
		}
		fresh, err := n.reg.Remove(rm)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrRejected, err)
		}
		if fresh {
			changed = true
			n.removed(rm)
		}
	}
	if changed && n.state != nil {
		if err := n.persist(); err != nil {
			n.log.Error("cluster: saving the state", "err", err)
		}
	}
	return nil
}

// applyCommand applies a committed command: the cluster's own kinds here,
// the rest by the configured state machine.
func (n *Node) applyCommand(ctx context.Context, cmd Command) error {
	if cmd.Kind == kindMemberAdmit || cmd.Kind == kindMemberRemove {
		return n.applyMember(cmd)
	}
	if n.cfg.Replicated == nil {
		return fmt.Errorf("%w: this node has no replicated state for %q", ErrRejected, cmd.Kind)
	}
	return n.cfg.Replicated.ApplyReplicated(ctx, cmd)
}
