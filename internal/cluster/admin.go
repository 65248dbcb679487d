package cluster

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/weftos/weftos/internal/mesh"
)

// Init creates a cluster with this node as its genesis member, listening
// on listen (and advertising advertise, default the address bound). The
// daemon records the genesis on the chain (the cluster.init act).
func (n *Node) Init(ctx context.Context, name, selfName, listen, advertise string) (Admission, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state != nil {
		return Admission{}, fmt.Errorf("%w: %s", ErrInCluster, n.state.Cluster)
	}
	var nonce ID
	if _, err := rand.Read(nonce[:]); err != nil {
		return Admission{}, err
	}
	if selfName == "" {
		selfName = n.id
	}
	g, err := NewGenesis(n.key, selfName, n.cfg.Now().Unix(), nonce)
	if err != nil {
		return Admission{}, err
	}
	reg, err := NewRegistry(g)
	if err != nil {
		return Admission{}, err
	}
	n.state = &State{Cluster: g.Cluster, Name: name, Genesis: g, SelfName: selfName, Advertise: advertise, JoinedAt: n.cfg.Now().UTC()}
	n.setReg(reg)
	// A node in no cluster has no business with an old replicated log.
	if err := os.RemoveAll(n.cfg.RaftDir); err != nil {
		n.state = nil
		n.setReg(nil)
		return Admission{}, fmt.Errorf("cluster: %w", err)
	}
	if err := n.start(ctx, listen, true); err != nil {
		n.state = nil
		n.setReg(nil)
		return Admission{}, err
	}
	if err := n.persist(); err != nil {
		_ = n.stop()
		n.state = nil
		n.setReg(nil)
		return Admission{}, err
	}
	n.log.Info("cluster: created", "cluster", g.Cluster, "name", name, "advertise", n.state.Advertise)
	return g, nil
}

// Invite issues a single-use invite valid for ttl, to be redeemed at this
// node. The daemon records it (the cluster.invite act: the token id and
// expiry, never the token).
func (n *Node) Invite(ttl time.Duration) (string, Invite, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state == nil {
		return "", Invite{}, ErrNotInCluster
	}
	if ttl <= 0 || ttl > 30*24*time.Hour {
		return "", Invite{}, fmt.Errorf("%w: ttl %s (want up to 30 days)", ErrBadToken, ttl)
	}
	inv := Invite{Cluster: n.state.Cluster, Expires: n.cfg.Now().Add(ttl).Truncate(time.Second).UTC(), Issuer: n.key.Public().(ed25519.PublicKey),
		Addrs: []string{n.state.Advertise}}
	if _, err := rand.Read(inv.ID[:]); err != nil {
		return "", Invite{}, err
	}
	if n.run != nil {
		for id, a := range n.run.ms.addrs() {
			if id != n.id && len(inv.Addrs) < maxInviteAddr {
				inv.Addrs = append(inv.Addrs, a)
			}
		}
	}
	tok, err := inv.Encode(n.key)
	if err != nil {
		return "", Invite{}, err
	}
	n.state.Issued = append(n.state.Issued, Issued{ID: inv.ID, Expires: inv.Expires})
	n.pruneIssued()
	if err := n.persist(); err != nil {
		return "", Invite{}, err
	}
	return tok, inv, nil
}

// pruneIssued forgets unredeemed invites expired for a day (a redeemed
// one is kept: its node id is the answer to a replay).
func (n *Node) pruneIssued() {
	now := n.cfg.Now()
	kept := n.state.Issued[:0]
	for _, is := range n.state.Issued {
		if is.Redeemed != "" || now.Sub(is.Expires) < 24*time.Hour {
			kept = append(kept, is)
		}
	}
	n.state.Issued = kept
}

// joinTimeout bounds a join's exchange with the issuer.
const joinTimeout = 15 * time.Second

// Join redeems an invite at its issuer and, admitted, joins the cluster's
// membership, listening on listen.
func (n *Node) Join(ctx context.Context, token, selfName, listen, advertise string) (Admission, error) {
	inv, err := ParseInvite(token)
	if err != nil {
		return Admission{}, err
	}
	if !n.cfg.Now().Before(inv.Expires) {
		return Admission{}, fmt.Errorf("%w: at %s", ErrTokenExpired, inv.Expires.Format(time.RFC3339))
	}
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	self, run, addrs, err := n.join(ctx, inv, token, selfName, listen, advertise)
	if err != nil {
		return Admission{}, err
	}
	// Membership calls back into the node (hellos, delegates): not under mu.
	if _, err := run.ms.join(addrs); err != nil {
		n.log.Warn("cluster: admitted, but membership could not reach the cluster yet", "err", err)
	}
	n.log.Info("cluster: joined", "cluster", inv.Cluster, "issuer", inv.IssuerID())
	return self, nil
}

// join redeems the invite at its issuer and starts the runtime.
func (n *Node) join(ctx context.Context, inv Invite, token, selfName, listen, advertise string) (Admission, *runtime, []string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state != nil {
		return Admission{}, nil, nil, fmt.Errorf("%w: %s", ErrInCluster, n.state.Cluster)
	}
	if selfName == "" {
		selfName = n.id
	}
	mc := n.cfg.Mesh
	mc.Identity, mc.AllowClassical, mc.Logger, mc.Observer = n.cfg.Identity, n.cfg.AllowClassical, n.log, observer{n}
	ep, err := mesh.NewEndpoint(mc)
	if err != nil {
		return Admission{}, nil, nil, err
	}
	l, err := ep.Dial(ctx, n.cfg.Transport, inv.Addrs[0], inv.IssuerID())
	if err != nil {
		return Admission{}, nil, nil, fmt.Errorf("%w: the issuer %s at %s: %w", ErrUnreachable, inv.IssuerID(), inv.Addrs[0], err)
	}
	defer l.Close()
	if err := sendControl(ctx, l, control{Type: msgJoin, Token: token, Name: selfName}); err != nil {
		return Admission{}, nil, nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	w, err := recvControl(ctx, l)
	if err != nil {
		return Admission{}, nil, nil, fmt.Errorf("%w: waiting for the issuer's answer: %w", ErrUnreachable, err)
	}
	if w.Type == msgRefused {
		return Admission{}, nil, nil, fmt.Errorf("%w: %w: %s", ErrJoinRefused, errorOf(w.Code), w.Reason)
	}
	if w.Type != msgWelcome || len(w.Path) == 0 {
		return Admission{}, nil, nil, fmt.Errorf("%w: the issuer answered %q", ErrJoinRefused, w.Type)
	}
	reg, err := NewRegistry(w.Path[0])
	if err != nil {
		return Admission{}, nil, nil, err
	}
	if reg.Cluster() != inv.Cluster {
		return Admission{}, nil, nil, fmt.Errorf("%w: welcome to cluster %s, the invite names %s", ErrNotMember, reg.Cluster(), inv.Cluster)
	}
	if _, err := reg.Add(w.Path); err != nil {
		return Admission{}, nil, nil, err
	}
	self, ok := reg.Member(n.id)
	if !ok || self.Token != inv.ID {
		return Admission{}, nil, nil, fmt.Errorf("%w: the welcome does not admit this node under the invite", ErrNotMember)
	}
	_, _ = reg.Add(w.Members) // admissions the issuer knows (those that verify)
	for _, rm := range w.Removals {
		_, _ = reg.Remove(rm)
	}
	n.state = &State{Cluster: reg.Cluster(), Name: w.ClusterName, Genesis: reg.Genesis(), SelfName: selfName, Advertise: advertise,
		JoinedAt: n.cfg.Now().UTC()}
	n.setReg(reg)
	if err := os.RemoveAll(n.cfg.RaftDir); err != nil {
		n.state = nil
		n.setReg(nil)
		return Admission{}, nil, nil, fmt.Errorf("cluster: %w", err)
	}
	if err := n.start(ctx, listen, false); err != nil {
		n.state = nil
		n.setReg(nil)
		return Admission{}, nil, nil, err
	}
	addrs := append([]string{inv.IssuerID() + "/" + inv.Addrs[0]}, w.Addrs...)
	if err := n.persist(); err != nil {
		_ = n.stop()
		n.state = nil
		n.setReg(nil)
		return Admission{}, nil, nil, err
	}
	n.state.KnownAddrs = addrs
	return self, n.run, addrs, nil
}

// handleJoin serves a join asked on an accepted link: the token must be
// one this node issued, unexpired and unredeemed, the joiner not removed;
// then the Admitter decides (governed) and the admission is signed,
// recorded and answered with a welcome.
func (n *Node) handleJoin(ctx context.Context, l *mesh.Link, c control) {
	peer := l.Peer()
	req := AdmitRequest{Node: peer.NodeID, Name: c.Name, Addr: peer.Addr}
	refuse := func(err error) {
		if n.cfg.Admitter != nil && !errors.Is(err, ErrInCluster) {
			n.cfg.Admitter.Refused(ctx, req, err)
		}
		n.recordRefusal(RefusalEvent{Addr: peer.Addr, Node: peer.NodeID, Code: codeOf(err), Reason: err.Error()})
		_ = sendControl(ctx, l, control{Type: msgRefused, Code: codeOf(err), Reason: err.Error()})
	}
	inv, err := ParseInvite(c.Token)
	if err != nil {
		refuse(err)
		return
	}
	req.TokenID = inv.ID
	if err := n.checkInvite(inv, peer.NodeID); err != nil {
		refuse(err)
		return
	}
	if len(c.Name) > maxNameLen {
		refuse(fmt.Errorf("%w: name longer than %d bytes", ErrBadToken, maxNameLen))
		return
	}
	admit := func(ctx context.Context) (Admission, error) {
		n.mu.Lock()
		defer n.mu.Unlock()
		if err := n.checkInviteLocked(inv, peer.NodeID); err != nil {
			return Admission{}, err
		}
		a, err := Admit(n.key, n.state.Cluster, Key(peer.Ed25519), c.Name, n.cfg.Now().Unix(), inv.ID)
		if err != nil {
			return Admission{}, err
		}
		if _, err := n.reg.Add([]Admission{a}); err != nil {
			return Admission{}, err
		}
		for i := range n.state.Issued {
			if n.state.Issued[i].ID == inv.ID {
				n.state.Issued[i].Redeemed = peer.NodeID
			}
		}
		if err := n.persist(); err != nil {
			return Admission{}, err
		}
		n.cfg.Events.Event(KindMember, MemberEvent{Cluster: n.state.Cluster.String(), Node: peer.NodeID, Name: c.Name, Addr: peer.Addr,
			State: "admitted", By: n.id})
		return a, nil
	}
	var a Admission
	if n.cfg.Admitter != nil {
		a, err = n.cfg.Admitter.Admit(ctx, req, admit)
	} else {
		a, err = admit(ctx)
	}
	if err != nil {
		n.recordRefusal(RefusalEvent{Addr: peer.Addr, Node: peer.NodeID, Code: codeOf(err), Reason: err.Error()})
		_ = sendControl(ctx, l, control{Type: msgRefused, Code: codeOf(err), Reason: err.Error()})
		return
	}
	n.mu.Lock()
	w := control{Type: msgWelcome, ClusterName: n.state.Name, Path: n.reg.Path(a.NodeID()), Members: n.reg.All(), Removals: n.reg.Removals()}
	run := n.run
	n.mu.Unlock()
	if run != nil {
		for id, addr := range run.ms.addrs() {
			if id != peer.NodeID {
				w.Addrs = append(w.Addrs, id+"/"+addr)
			}
		}
	}
	if err := sendControl(ctx, l, w); err != nil {
		n.log.Warn("cluster: admitted a node that did not take its welcome", "node", peer.NodeID, "err", err)
	}
	n.replicateMember(kindMemberAdmit, w.Path)
	// Wait for the joiner to close the link: the welcome is delivered.
	rctx, cancel := context.WithTimeout(ctx, helloTimeout)
	_, _ = l.Recv(rctx)
	cancel()
}

func (n *Node) checkInvite(inv Invite, joiner string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.checkInviteLocked(inv, joiner)
}

func (n *Node) checkInviteLocked(inv Invite, joiner string) error {
	if n.state == nil {
		return ErrNotInCluster
	}
	if inv.Cluster != n.state.Cluster {
		return fmt.Errorf("%w: the invite is for cluster %s", ErrBadToken, inv.Cluster)
	}
	if inv.IssuerID() != n.id {
		return fmt.Errorf("%w: the invite was issued by %s; it is redeemed there", ErrTokenUsed, inv.IssuerID())
	}
	if !n.cfg.Now().Before(inv.Expires) {
		return fmt.Errorf("%w: at %s", ErrTokenExpired, inv.Expires.Format(time.RFC3339))
	}
	if rm, ok := n.reg.Removed(joiner); ok {
		return fmt.Errorf("%w: %s (%s)", ErrRemoved, joiner, removalWhy(rm))
	}
	if _, ok := n.reg.Member(joiner); ok {
		return fmt.Errorf("%w: %s is already a member", ErrInCluster, joiner)
	}
	for _, is := range n.state.Issued {
		if is.ID != inv.ID {
			continue
		}
		if is.Redeemed != "" {
			return fmt.Errorf("%w: redeemed by %s", ErrTokenUsed, is.Redeemed)
		}
		return nil
	}
	return fmt.Errorf("%w: this node has no record of invite %s", ErrTokenUsed, inv.ID)
}

// Remove removes a member: a signed removal, applied here, persisted and
// sent to every reachable member (the others learn it at their next
// exchange with any member). The daemon governs and records it (the
// cluster.remove act).
func (n *Node) Remove(ctx context.Context, node, reason string) (Removal, error) {
	n.mu.Lock()
	if n.state == nil {
		n.mu.Unlock()
		return Removal{}, ErrNotInCluster
	}
	if node == n.id {
		n.mu.Unlock()
		return Removal{}, fmt.Errorf("%w: a node leaves, it does not remove itself", ErrInCluster)
	}
	a, ok := n.reg.Member(node)
	if !ok {
		n.mu.Unlock()
		if _, gone := n.reg.Removed(node); gone {
			return Removal{}, fmt.Errorf("%w: %s", ErrRemoved, node)
		}
		return Removal{}, fmt.Errorf("%w: %s", ErrUnknownNode, node)
	}
	rm := NewRemoval(n.key, n.state.Cluster, a.Node, n.cfg.Now().Unix(), reason)
	if _, err := n.reg.Remove(rm); err != nil {
		n.mu.Unlock()
		return Removal{}, err
	}
	n.removed(rm)
	err := n.persist()
	run := n.run
	n.mu.Unlock()
	if err != nil {
		return rm, err
	}
	if run != nil {
		run.broadcastControl(control{Type: msgRemoval, Removal: &rm}, 2*time.Second)
	}
	n.replicateMember(kindMemberRemove, rm)
	return rm, nil
}

// Leave leaves the cluster: a signed leave sent to every reachable member,
// membership told, the runtime stopped and the state file removed.
func (n *Node) Leave(ctx context.Context) (Removal, error) {
	n.mu.Lock()
	if n.state == nil {
		n.mu.Unlock()
		return Removal{}, ErrNotInCluster
	}
	self, _ := n.reg.Member(n.id)
	rm := NewRemoval(n.key, n.state.Cluster, self.Node, n.cfg.Now().Unix(), "left")
	run := n.run
	n.mu.Unlock()
	var err error
	if run != nil {
		run.broadcastControl(control{Type: msgRemoval, Removal: &rm}, 2*time.Second)
		// Committed before this node stops taking part (best effort: the
		// broadcast and gossip carry it too).
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if b, merr := json.Marshal(rm); merr == nil {
			if _, perr := n.Propose(pctx, kindMemberRemove, b); perr != nil {
				n.log.Info("cluster: the leave was not committed through the log", "err", perr)
			}
		}
		cancel()
		// Membership sends its goodbye over links, whose hellos need mu.
		err = run.ms.leave(time.Second)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	err = errors.Join(err, n.stop())
	n.state = nil
	n.setReg(nil)
	if rerr := removeFile(n.cfg.StatePath); rerr != nil {
		err = errors.Join(err, rerr)
	}
	// The replicated log was the cluster's: a node that joins another
	// starts a new one.
	if rerr := os.RemoveAll(n.cfg.RaftDir); rerr != nil {
		err = errors.Join(err, fmt.Errorf("cluster: %w", rerr))
	}
	return rm, err
}
