//go:build !wasip1 && !js

package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// raftEngine is hashicorp/raft with its transport on the mesh's links: a
// Raft connection is a link of purpose "raft" (Noise + ML-KEM, node ids
// pinned, membership proven in the hello), never a raw TCP socket. Server
// ids and addresses are node ids; the address a node id is dialled at comes
// from membership.
type raftEngine struct {
	rt    *runtime
	r     *raft.Raft
	layer *raftLayer
	trans *raft.NetworkTransport
	store *raftboltdb.BoltStore
	fsm   *raftFSM
}

// ConsensusConfig tunes Raft (LAN defaults).
type ConsensusConfig struct {
	HeartbeatTimeout time.Duration // default 300ms
	ElectionTimeout  time.Duration // default 300ms
	// Reconcile is how often the leader aligns Raft's voters with the
	// member registry; default 250ms.
	Reconcile time.Duration
}

func (c *ConsensusConfig) setDefaults() {
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = 300 * time.Millisecond
	}
	if c.ElectionTimeout <= 0 {
		c.ElectionTimeout = 300 * time.Millisecond
	}
	if c.Reconcile <= 0 {
		c.Reconcile = 250 * time.Millisecond
	}
}

// raftApplyTimeout bounds how long a proposal waits to be enqueued.
const raftApplyTimeout = 10 * time.Second

func newConsensus(rt *runtime, dir string, bootstrap bool) (consensus, error) {
	cc := rt.n.cfg.Consensus
	cc.setDefaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: &slogWriter{rt.n.log}})
	store, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
	if err != nil {
		return nil, fmt.Errorf("cluster: raft store: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, logger)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("cluster: raft snapshots: %w", err)
	}
	e := &raftEngine{rt: rt, store: store, fsm: newRaftFSM(rt.n, rt.ctx)}
	e.layer = &raftLayer{rt: rt, conns: make(chan net.Conn), closed: make(chan struct{})}
	e.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{Stream: e.layer, MaxPool: 3,
		Timeout: 5 * time.Second, Logger: logger})
	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(rt.n.id)
	conf.Logger = logger
	conf.HeartbeatTimeout, conf.ElectionTimeout = cc.HeartbeatTimeout, cc.ElectionTimeout
	conf.LeaderLeaseTimeout = cc.HeartbeatTimeout / 2
	conf.CommitTimeout = 5 * time.Millisecond
	conf.SnapshotThreshold = 1024
	if bootstrap {
		has, err := raft.HasExistingState(store, store, snaps)
		if err != nil {
			e.closeStores()
			return nil, fmt.Errorf("cluster: raft: %w", err)
		}
		if !has {
			self := raft.Server{Suffrage: raft.Voter, ID: conf.LocalID, Address: raft.ServerAddress(rt.n.id)}
			if err := raft.BootstrapCluster(conf, store, store, snaps, e.trans, raft.Configuration{Servers: []raft.Server{self}}); err != nil {
				e.closeStores()
				return nil, fmt.Errorf("cluster: raft bootstrap: %w", err)
			}
		}
	}
	if e.r, err = raft.NewRaft(conf, e.fsm, store, store, snaps, e.trans); err != nil {
		e.closeStores()
		return nil, fmt.Errorf("cluster: raft: %w", err)
	}
	rt.wg.Add(1)
	go e.reconcileLoop(cc.Reconcile)
	return e, nil
}

func (e *raftEngine) closeStores() {
	e.trans.Close()
	e.store.Close()
}

func (e *raftEngine) isLeader() bool { return e.r.State() == raft.Leader }

func (e *raftEngine) propose(ctx context.Context, cmd Command) (uint64, error) {
	if cmd.Nonce == 0 {
		n, err := newNonce()
		if err != nil {
			return 0, err
		}
		cmd.Nonce = n
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		return 0, err
	}
	// The state machine hands the entry's outcome over by proposal id: a
	// future's Error may never return once Raft shuts down (entries
	// queued for the state machine are dropped), so none is waited on.
	ch, forget := e.fsm.expect(cmd.From, cmd.Nonce)
	defer forget()
	e.r.Apply(b, raftApplyTimeout)
	t := time.NewTicker(proposeRetry)
	defer t.Stop()
	for {
		select {
		case res := <-ch:
			if res.err != nil {
				if errors.Is(res.err, ErrRejected) {
					return res.index, res.err
				}
				return res.index, fmt.Errorf("%w: %w", ErrRejected, res.err)
			}
			return res.index, nil
		case <-ctx.Done():
			// The entry may still commit; the caller learns it did not wait.
			return 0, fmt.Errorf("%w: %w", ErrNoLeader, ctx.Err())
		case <-e.rt.ctx.Done():
			return 0, ErrNotInCluster
		case <-t.C:
			if !e.isLeader() {
				// Leadership lost: the entry may or may not commit (a
				// retry carries the same id, so it is applied once).
				return 0, fmt.Errorf("%w: leadership lost while the entry was pending", ErrNoLeader)
			}
		}
	}
}

func (e *raftEngine) progress() Progress {
	_, leader := e.r.LeaderWithID()
	return Progress{Running: true, Leader: string(leader), CommitIndex: e.r.CommitIndex(), AppliedIdx: e.applied()}
}

func (e *raftEngine) status() ConsensusStatus {
	_, leader := e.r.LeaderWithID()
	st := ConsensusStatus{Running: true, State: strings.ToLower(e.r.State().String()), Leader: string(leader),
		CommitIndex: e.r.CommitIndex(), AppliedIdx: e.applied()}
	if t, ok := e.r.Stats()["term"]; ok {
		fmt.Sscan(t, &st.Term)
	}
	if f := e.r.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			if s.Suffrage == raft.Voter {
				st.Voters = append(st.Voters, string(s.ID))
			}
		}
		sort.Strings(st.Voters)
	}
	return st
}

// waitApplied waits until this node's state machine has applied index
// (not only been handed it: Raft's AppliedIndex runs ahead of the state
// under load).
func (e *raftEngine) waitApplied(ctx context.Context, index uint64) error {
	for {
		ch := e.fsm.appliedCh()
		if e.applied() >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("cluster: entry %d not yet applied here: %w", index, ctx.Err())
		case <-time.After(20 * time.Millisecond): // entries that are not commands advance no channel
		}
	}
}

// caughtUp waits until this node has applied what it knows committed and
// has heard from a leader (a node that never heard from one cannot know
// what is committed).
func (e *raftEngine) caughtUp(ctx context.Context) error {
	for {
		if e.isLeader() {
			// Every entry in the leader's log (those of earlier terms
			// included) applied. Not a Barrier: its future waits for the
			// state machine whatever ctx says.
			return e.waitApplied(ctx, e.r.LastIndex())
		} else if _, leader := e.r.LeaderWithID(); leader != "" && string(leader) != e.rt.n.id {
			// The leader's commit index, not this node's (which lags
			// until the leader's next append reaches it).
			if idx, err := e.rt.n.leaderCommitIndex(ctx, string(leader)); err == nil {
				return e.waitApplied(ctx, idx)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNoLeader, ctx.Err())
		case <-time.After(proposeRetry):
		}
	}
}

func (e *raftEngine) accept(c *streamConn) {
	select {
	case e.layer.conns <- c:
	case <-e.layer.closed:
		c.Close()
		return
	case <-e.rt.ctx.Done():
		c.Close()
		return
	}
	select {
	case <-c.done:
	case <-e.rt.ctx.Done():
	}
}

func (e *raftEngine) reconcileLoop(every time.Duration) {
	defer e.rt.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-e.rt.ctx.Done():
			return
		case <-t.C:
			e.reconcile()
		}
	}
}

// reconcile, on the leader, makes Raft's voters the registry's members:
// a member seen alive is added, a removed node is taken out.
func (e *raftEngine) reconcile() {
	if !e.isLeader() {
		return
	}
	reg := e.rt.n.cur.Load()
	if reg == nil {
		return
	}
	f := e.r.GetConfiguration()
	if f.Error() != nil {
		return
	}
	have := map[string]bool{}
	for _, s := range f.Configuration().Servers {
		have[string(s.ID)] = true
		if _, gone := reg.Removed(string(s.ID)); gone {
			if err := e.r.RemoveServer(s.ID, 0, time.Second).Error(); err != nil {
				e.rt.n.log.Info("cluster: raft: removing a removed member", "node", s.ID, "err", err)
			}
		}
	}
	views := e.rt.ms.view()
	for _, a := range reg.Members() {
		id := a.NodeID()
		if have[id] || views[id].state != "alive" {
			continue
		}
		if err := e.r.AddVoter(raft.ServerID(id), raft.ServerAddress(id), 0, time.Second).Error(); err != nil {
			e.rt.n.log.Info("cluster: raft: adding a member", "node", id, "err", err)
		}
	}
}

func (e *raftEngine) shutdown() error {
	err := e.r.Shutdown().Error()
	e.layer.Close()
	return errors.Join(err, e.trans.Close(), e.store.Close())
}

// raftLayer is Raft's StreamLayer on mesh links.
type raftLayer struct {
	rt     *runtime
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *raftLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *raftLayer) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *raftLayer) Addr() net.Addr { return nodeAddr(l.rt.n.id) }

// Dial opens a Raft link to the node whose id is addr.
func (l *raftLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	node := string(addr)
	at := l.rt.ms.addrs()[node]
	if at == "" {
		at = l.rt.knownAddr(node)
	}
	if at == "" {
		return nil, fmt.Errorf("%w: no address known for %s", ErrUnreachable, node)
	}
	ctx, cancel := context.WithTimeout(l.rt.ctx, timeout)
	defer cancel()
	lk, c, err := l.rt.dial(ctx, node, at, purposeRaft)
	if err != nil {
		return nil, err
	}
	if !l.rt.track(lk, node) {
		lk.Close()
		return nil, ErrNotInCluster
	}
	sc := newStreamConn(lk, c.Addr)
	sc.onDone = func() { l.rt.untrack(lk) }
	return sc, nil
}

// nodeAddr is a node id as a net.Addr.
type nodeAddr string

func (nodeAddr) Network() string  { return "weftos-mesh" }
func (a nodeAddr) String() string { return string(a) }

// slogWriter takes hclog's lines into the node's logger.
type slogWriter struct{ log *slog.Logger }

func (w *slogWriter) Write(b []byte) (int, error) {
	w.log.Info(strings.TrimSpace(string(b)))
	return len(b), nil
}
