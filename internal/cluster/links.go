package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"time"

	"github.com/weftos/weftos/internal/mesh"
)

// helloTimeout bounds the first message of a link.
const helloTimeout = 5 * time.Second

func (r *runtime) track(l *mesh.Link, peer string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return false
	}
	r.links[l] = peer
	return true
}

func (r *runtime) untrack(l *mesh.Link) {
	r.mu.Lock()
	delete(r.links, l)
	for id, o := range r.out {
		if o == l {
			delete(r.out, id)
		}
	}
	r.mu.Unlock()
	l.Close()
	r.n.ipc.linkDown(l)
}

func (r *runtime) acceptLoop() {
	defer r.wg.Done()
	for {
		l, err := r.ln.Accept(r.ctx)
		if err != nil {
			return
		}
		if !r.track(l, l.Peer().NodeID) {
			l.Close()
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer r.untrack(l)
			r.serveInbound(l)
		}()
	}
}

// hello is this node's hello for purpose.
// It takes no lock of the node's: memberlist may dial while the node
// holds it.
func (r *runtime) hello(purpose string) control {
	c := control{Type: msgHello, Purpose: purpose, Addr: r.advertise}
	if reg := r.n.cur.Load(); reg != nil {
		c.Cluster, c.Path, c.Removals = reg.Cluster(), reg.Path(r.n.id), reg.Removals()
	}
	return c
}

// serveInbound reads an accepted link's first message (a hello proving
// membership, or a join) and serves it.
func (r *runtime) serveInbound(l *mesh.Link) {
	ctx, cancel := context.WithTimeout(r.ctx, helloTimeout)
	c, err := recvControl(ctx, l)
	cancel()
	peer := l.Peer()
	if err != nil {
		r.n.recordRefusal(RefusalEvent{Addr: peer.Addr, Node: peer.NodeID, Code: "no_hello", Reason: err.Error()})
		return
	}
	switch c.Type {
	case msgJoin:
		r.n.handleJoin(r.ctx, l, c)
		return
	case msgHello:
	default:
		r.refuse(l, ErrNotMember, fmt.Sprintf("first message %q", c.Type))
		return
	}
	if err := r.n.learn(c, peer.NodeID); err != nil {
		r.refuse(l, err, err.Error())
		return
	}
	if err := sendControl(r.ctx, l, r.hello(c.Purpose)); err != nil {
		return
	}
	switch c.Purpose {
	case purposeStream:
		r.ms.stream(newStreamConn(l, c.Addr)) // returns when the stream's owner (memberlist) closed it
	case purposeRaft:
		if r.cons == nil {
			r.refuse(l, ErrUnsupported, "this node runs no consensus")
			return
		}
		r.cons.accept(newStreamConn(l, c.Addr)) // returns when Raft closed it
	default:
		r.readLoop(l, c.Addr)
	}
}

func (r *runtime) refuse(l *mesh.Link, err error, reason string) {
	peer := l.Peer()
	_ = sendControl(r.ctx, l, control{Type: msgRefused, Code: codeOf(err), Reason: reason})
	r.n.recordRefusal(RefusalEvent{Addr: peer.Addr, Node: peer.NodeID, Code: codeOf(err), Reason: reason})
}

// learn checks a peer's hello (cluster, admission path back to the
// genesis, the peer being the node the path ends at) and takes in what it
// knows: new admissions and removals.
func (n *Node) learn(c control, peer string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.reg == nil {
		return ErrNotInCluster
	}
	if c.Cluster != n.reg.Cluster() {
		return fmt.Errorf("%w: the peer is in cluster %s", ErrNotMember, c.Cluster)
	}
	if len(c.Path) == 0 || c.Path[len(c.Path)-1].NodeID() != peer {
		return fmt.Errorf("%w: %s presented no admission of its own", ErrNotMember, peer)
	}
	changed := false
	for _, rm := range c.Removals {
		fresh, err := n.reg.Remove(rm)
		if err != nil {
			n.log.Warn("cluster: a removal a peer sent does not verify", "peer", peer, "err", err)
			continue
		}
		if fresh {
			changed = true
			n.removed(rm)
		}
	}
	added, err := n.reg.Add(c.Path)
	for _, a := range added {
		changed = true
		n.cfg.Events.Event(KindMember, MemberEvent{Cluster: n.reg.Cluster().String(), Node: a.NodeID(), Name: a.Name, State: "admitted",
			By: a.Issuer.NodeID()})
	}
	if changed {
		if perr := n.persist(); perr != nil {
			n.log.Error("cluster: saving the state", "err", perr)
		}
	}
	if err != nil {
		return err
	}
	if _, ok := n.reg.Member(peer); !ok {
		return fmt.Errorf("%w: %s", ErrRemoved, peer)
	}
	return nil
}

// removed records a removal this node learnt and cuts the node's links.
// Callers hold n.mu.
func (n *Node) removed(rm Removal) {
	state := "removed"
	if rm.IsLeave() {
		state = "left"
	}
	n.cfg.Events.Event(KindMember, MemberEvent{Cluster: n.reg.Cluster().String(), Node: rm.NodeID(), State: state, By: rm.By.NodeID(), Reason: rm.Reason})
	if n.run != nil {
		n.run.cut(rm.NodeID())
	}
}

// cut closes every link to node.
func (r *runtime) cut(node string) {
	r.mu.Lock()
	var doomed []*mesh.Link
	for l, id := range r.links {
		if id == node {
			doomed = append(doomed, l)
		}
	}
	delete(r.out, node)
	r.mu.Unlock()
	for _, l := range doomed {
		l.Close()
	}
}

// readLoop serves a member link until it closes.
func (r *runtime) readLoop(l *mesh.Link, addr string) {
	peer := l.Peer().NodeID
	from := addrOf(addr)
	for {
		b, err := l.Recv(r.ctx)
		if err != nil {
			return
		}
		if len(b) == 0 {
			continue
		}
		switch b[0] {
		case chanGossip:
			r.ms.packet(b[1:], from)
		case chanControl:
			var c control
			if json.Unmarshal(b[1:], &c) == nil && c.Type == msgRemoval && c.Removal != nil {
				r.n.applyRemoval(*c.Removal, peer)
			}
		case chanIPC:
			r.n.handleIPC(r.ctx, l, b[1:])
		}
	}
}

// applyRemoval takes in a removal a member sent.
func (n *Node) applyRemoval(rm Removal, from string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.reg == nil {
		return
	}
	fresh, err := n.reg.Remove(rm)
	if err != nil {
		n.log.Warn("cluster: a removal does not verify", "from", from, "err", err)
		return
	}
	if fresh {
		n.removed(rm)
		if err := n.persist(); err != nil {
			n.log.Error("cluster: saving the state", "err", err)
		}
	}
}

// dial opens a link of purpose to node at addr and exchanges hellos.
func (r *runtime) dial(ctx context.Context, node, addr, purpose string) (*mesh.Link, control, error) {
	l, err := r.ep.Dial(ctx, r.n.cfg.Transport, addr, node)
	if err != nil {
		return nil, control{}, fmt.Errorf("%w: %s at %s: %w", ErrUnreachable, node, addr, err)
	}
	if node == "" {
		node = l.Peer().NodeID
	}
	if err := sendControl(ctx, l, r.hello(purpose)); err != nil {
		l.Close()
		return nil, control{}, fmt.Errorf("%w: %s: %w", ErrUnreachable, node, err)
	}
	c, err := recvControl(ctx, l)
	if err == nil && c.Type == msgRefused {
		err = fmt.Errorf("%w: %s refused the link: %s", errorOf(c.Code), node, c.Reason)
	} else if err == nil && c.Type != msgHello {
		err = fmt.Errorf("%w: %s answered %q", ErrNotMember, node, c.Type)
	}
	if err == nil {
		err = r.n.learn(c, node)
	}
	if err != nil {
		l.Close()
		return nil, control{}, err
	}
	return l, c, nil
}

// member returns the outbound member link to node, dialling addr when
// there is none.
func (r *runtime) member(ctx context.Context, node, addr string) (*mesh.Link, error) {
	r.mu.Lock()
	l := r.out[node]
	r.mu.Unlock()
	if l != nil {
		return l, nil
	}
	l, c, err := r.dial(ctx, node, addr, purposeMember)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.ctx.Err() != nil {
		r.mu.Unlock()
		l.Close()
		return nil, ErrNotInCluster
	}
	if old := r.out[node]; old != nil {
		r.mu.Unlock()
		l.Close()
		return old, nil
	}
	r.out[node] = l
	r.links[l] = node
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer r.untrack(l)
		r.readLoop(l, c.Addr)
	}()
	return l, nil
}

// send sends a message on channel ch to node over its member link.
func (r *runtime) send(ctx context.Context, node, addr string, ch byte, body []byte) error {
	l, err := r.member(ctx, node, addr)
	if err != nil {
		return err
	}
	msg := make([]byte, 1+len(body))
	msg[0] = ch
	copy(msg[1:], body)
	if err := l.Send(ctx, msg); err != nil {
		r.untrack(l)
		return fmt.Errorf("%w: %s: %w", ErrUnreachable, node, err)
	}
	return nil
}

// broadcastControl sends c to every member this node can reach, best
// effort, each within timeout.
func (r *runtime) broadcastControl(c control, timeout time.Duration) {
	b, err := json.Marshal(c)
	if err != nil {
		return
	}
	for id, addr := range r.ms.addrs() {
		if id == r.n.id {
			continue
		}
		ctx, cancel := context.WithTimeout(r.ctx, timeout)
		if err := r.send(ctx, id, addr, chanControl, b); err != nil {
			r.n.log.Info("cluster: could not tell a member", "node", id, "err", err)
		}
		cancel()
	}
}

// knownAddrs are the addresses of members seen, for rejoining after a
// restart.
func (r *runtime) knownAddrs() []string {
	var out []string
	for id, a := range r.ms.addrs() {
		if id != r.n.id {
			out = append(out, id+"/"+a)
		}
	}
	sort.Strings(out)
	return out
}

// joinMembers joins membership through addrs, in the background (a
// restarted node whose peers are down must still boot).
func (r *runtime) joinMembers(addrs []string) {
	if len(addrs) == 0 {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if _, err := r.ms.join(addrs); err != nil && r.ctx.Err() == nil {
			r.n.log.Warn("cluster: no member reachable to rejoin through", "addrs", addrs, "err", err)
		}
	}()
}

// knownAddr is the last address membership saw node at.
func (r *runtime) knownAddr(node string) string { return r.ms.view()[node].addr }

// addrOf is a net.Addr for memberlist's packets.
func addrOf(s string) net.Addr {
	if a, err := net.ResolveTCPAddr("tcp", s); err == nil {
		return a
	}
	return &net.TCPAddr{}
}

var errNoIPC = errors.New("cluster: this node takes no cross-node IPC")

// rejoinLoop periodically tries to rejoin, through their last known
// addresses, the members membership declared dead: SWIM stops probing a
// dead node, so without this a healed partition or a node restarted on
// the same address would stay apart.
func (r *runtime) rejoinLoop() {
	defer r.wg.Done()
	t := time.NewTicker(r.n.cfg.Membership.Rejoin)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		reg := r.n.cur.Load()
		if reg == nil {
			continue
		}
		var addrs []string
		views := r.ms.view()
		for _, a := range reg.Members() {
			id := a.NodeID()
			v, ok := views[id]
			if id == r.n.id || !ok || v.addr == "" || (v.state != "dead" && v.state != "left") {
				continue
			}
			addrs = append(addrs, id+"/"+v.addr)
		}
		if len(addrs) > 0 {
			if _, err := r.ms.join(addrs); err != nil && r.ctx.Err() == nil {
				r.n.log.Debug("cluster: rejoining dead members failed", "members", addrs, "err", err)
			}
		}
	}
}
