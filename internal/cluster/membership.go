//go:build !wasip1 && !js

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// membership is SWIM (hashicorp/memberlist) over the mesh's links.
type membership interface {
	join(addrs []string) (int, error)
	leave(timeout time.Duration) error
	shutdown() error
	packet(b []byte, from net.Addr)
	stream(c *streamConn)
	view() map[string]memberView
	addrs() map[string]string
	alive(node string) (addr string, ok bool) // seen alive or suspect
	numAlive() int
}

// memberView is one node as membership sees it.
type memberView struct {
	addr, state string
	rtt         time.Duration
	lastSeen    time.Time
	size        uint64
	root        string
}

// indirectChecks is how many members probe a node for this one when its
// own probe went unanswered.
const indirectChecks = 5

// packetDialTimeout bounds the dial a gossip packet to a node without a
// link waits for; a packet is best effort, like the UDP it replaces.
const packetDialTimeout = 500 * time.Millisecond

// swim is the memberlist instance and its transport and delegates.
type swim struct {
	r       *runtime
	ml      *memberlist.Memberlist
	packets chan *memberlist.Packet
	streams chan net.Conn
	host    net.IP
	port    int

	mu      sync.Mutex
	seen    map[string]*memberView    // by node id: RTT, last seen, head; dead and left nodes
	dialing map[string]time.Time      // node id → when a packet dial started or last failed
	queues  map[string]chan outPacket // node id → its gossip packets waiting to be sent
	closed  bool                      // shut down: no more packets queued
	wg      sync.WaitGroup            // the senders
}

func newMembership(r *runtime) (membership, error) {
	s := &swim{r: r, packets: make(chan *memberlist.Packet, 1024), streams: make(chan net.Conn, 16),
		seen: map[string]*memberView{}, dialing: map[string]time.Time{}, queues: map[string]chan outPacket{}}
	host, port, err := net.SplitHostPort(r.n.state.Advertise)
	if err != nil {
		return nil, fmt.Errorf("cluster: advertise address %q: %w", r.n.state.Advertise, err)
	}
	if s.host = net.ParseIP(host); s.host == nil {
		ips, err := net.DefaultResolver.LookupIP(context.Background(), "ip", host)
		if err != nil || len(ips) == 0 {
			return nil, fmt.Errorf("cluster: advertise host %q does not resolve: %v", host, err)
		}
		s.host = ips[0]
	}
	if s.port, err = strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("cluster: advertise port %q: %w", port, err)
	}
	mc := r.n.cfg.Membership
	c := memberlist.DefaultLANConfig()
	c.Name = r.n.id
	c.Transport = s
	c.AdvertiseAddr, c.AdvertisePort = s.host.String(), s.port
	c.ProbeInterval, c.ProbeTimeout, c.SuspicionMult = mc.ProbeInterval, mc.ProbeTimeout, mc.SuspicionMult
	c.GossipInterval, c.PushPullInterval = mc.GossipInterval, mc.PushPull
	// Five members asked to probe a node this one could not reach, not
	// three: on a lossy network each indirect path fails with the loss of
	// any of its four messages, and a suspicion needs all of them to fail.
	c.IndirectChecks = indirectChecks
	c.TCPTimeout = 2 * time.Second
	c.DeadNodeReclaimTime = time.Hour // a node id is an identity: never reused by another node
	c.Events, c.Ping, c.Alive = s, s, s
	c.Logger = log.New(&swimLog{s: s, log: r.n.log.With("layer", "memberlist")}, "", 0)
	if s.ml, err = memberlist.Create(c); err != nil {
		return nil, fmt.Errorf("cluster: membership: %w", err)
	}
	return s, nil
}

// Transport.

func (s *swim) FinalAdvertiseAddr(string, int) (net.IP, int, error) { return s.host, s.port, nil }
func (s *swim) PacketCh() <-chan *memberlist.Packet                 { return s.packets }
func (s *swim) StreamCh() <-chan net.Conn                           { return s.streams }
func (s *swim) Shutdown() error                                     { return nil }

func (s *swim) WriteTo(b []byte, addr string) (time.Time, error) {
	return s.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress sends a gossip packet over the node's member link, the
// way a UDP socket would: it never blocks. The packet joins the peer's
// queue (packetQueueLen; a full queue loses it) and the peer's sender
// writes it. Blocking here would stall memberlist's probe and packet
// handling goroutines behind one slow link (a lossy path retransmitting,
// a frozen peer's full window), and the acks owed to every other member
// with them: false positives everywhere for one bad link.
func (s *swim) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	now := time.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return now, ErrNotInCluster
	}
	q := s.queues[a.Name]
	if q == nil {
		q = make(chan outPacket, packetQueueLen)
		s.queues[a.Name] = q
		s.wg.Add(1)
		go s.sender(a.Name, q)
	}
	select {
	case q <- outPacket{b: append([]byte(nil), b...), addr: a.Addr}:
	default: // the queue is full: the packet is lost
	}
	s.mu.Unlock()
	return now, nil
}

// outPacket is a gossip packet waiting for its peer's sender.
type outPacket struct {
	b    []byte
	addr string
}

// packetQueueLen bounds the gossip packets waiting for one peer.
const packetQueueLen = 128

// drainTimeout bounds how long a sender keeps writing the packets queued
// when membership shuts down (a leave's last gossip).
const drainTimeout = time.Second

// sender writes node's gossip packets in order until its queue closes
// (membership shut down), then drains what is left within drainTimeout.
func (s *swim) sender(node string, q chan outPacket) {
	defer s.wg.Done()
	var drainUntil time.Time
	for p := range q {
		if drainUntil.IsZero() {
			s.mu.Lock()
			if s.closed {
				drainUntil = time.Now().Add(drainTimeout)
			}
			s.mu.Unlock()
		}
		if !drainUntil.IsZero() && time.Now().After(drainUntil) {
			continue // shut down: what did not go in time is lost
		}
		s.sendPacket(node, p)
	}
}

// sendPacket writes one packet over the member link to node. A node
// without one gets a dial (bounded; not again within a probe interval
// after a failure, the packets meanwhile lost).
func (s *swim) sendPacket(node string, p outPacket) {
	now := time.Now()
	s.r.mu.Lock()
	_, linked := s.r.out[node]
	s.r.mu.Unlock()
	if !linked {
		s.mu.Lock()
		if t, ok := s.dialing[node]; ok && now.Sub(t) < s.r.n.cfg.Membership.ProbeInterval {
			s.mu.Unlock()
			return // a dial failed just now: the packet is lost
		}
		s.dialing[node] = now
		s.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(s.r.ctx, packetDialTimeout)
	defer cancel()
	err := s.r.send(ctx, node, p.addr, chanGossip, p.b)
	s.mu.Lock()
	if err == nil {
		delete(s.dialing, node)
	} else {
		s.dialing[node] = time.Now()
	}
	s.mu.Unlock()
}

// DialTimeout and DialAddressTimeout open a stream: a link of its own.
func (s *swim) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return s.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (s *swim) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(s.r.ctx, timeout)
	defer cancel()
	l, c, err := s.r.dial(ctx, a.Name, a.Addr, purposeStream)
	if err != nil {
		return nil, err
	}
	if !s.r.track(l, l.Peer().NodeID) {
		l.Close()
		return nil, ErrNotInCluster
	}
	sc := newStreamConn(l, c.Addr)
	sc.onDone = func() { s.r.untrack(l) }
	return sc, nil
}

func (s *swim) packet(b []byte, from net.Addr) {
	p := &memberlist.Packet{Buf: append([]byte(nil), b...), From: from, Timestamp: time.Now()}
	select {
	case s.packets <- p:
	default: // full: dropped, like a UDP socket's buffer
	}
}

func (s *swim) stream(c *streamConn) {
	select {
	case s.streams <- c:
	case <-s.r.ctx.Done():
		c.Close()
		return
	}
	select {
	case <-c.done:
	case <-s.r.ctx.Done():
	}
}

// Delegates.

// NotifyAlive refuses a node the registry says was removed.
func (s *swim) NotifyAlive(peer *memberlist.Node) error {
	if peer.Name == s.r.n.id {
		return nil
	}
	reg := s.r.n.cur.Load()
	if reg == nil {
		return ErrNotInCluster
	}
	if _, gone := reg.Removed(peer.Name); gone {
		return fmt.Errorf("%w: %s", ErrRemoved, peer.Name)
	}
	return nil
}

func (s *swim) event(n *memberlist.Node, state string) {
	if n.Name == s.r.n.id {
		return
	}
	s.mu.Lock()
	v := s.seen[n.Name]
	if v == nil {
		v = &memberView{}
		s.seen[n.Name] = v
	}
	v.addr, v.state = n.Address(), state
	if state == "alive" {
		v.lastSeen = time.Now()
	}
	s.mu.Unlock()
	cluster := ""
	if reg := s.r.n.cur.Load(); reg != nil {
		cluster = reg.Cluster().String()
	}
	if state != "alive" {
		s.r.n.ipc.nodeDown(n.Name) // its requests in flight fail now, not at their deadline
	}
	s.r.n.cfg.Events.Event(KindMember, MemberEvent{Cluster: cluster, Node: n.Name, Addr: n.Address(), State: state})
}

func (s *swim) NotifyJoin(n *memberlist.Node)   { s.event(n, "alive") }
func (s *swim) NotifyUpdate(n *memberlist.Node) { s.event(n, "alive") }
func (s *swim) NotifyLeave(n *memberlist.Node) {
	state := "dead"
	if n.State == memberlist.StateLeft {
		state = "left"
	}
	s.event(n, state)
}

// headPayload is a node's chain head, carried in ping acks.
type headPayload struct {
	Size uint64 `json:"s"`
	Root string `json:"r"`
}

func (s *swim) AckPayload() []byte {
	if s.r.n.cfg.Head == nil {
		return nil
	}
	size, root := s.r.n.cfg.Head()
	b, _ := json.Marshal(headPayload{Size: size, Root: root})
	return b
}

// NotifyPingComplete records a successful probe. memberlist calls it
// without its lock held, so only the node's name (which never changes)
// is read.
func (s *swim) NotifyPingComplete(other *memberlist.Node, rtt time.Duration, payload []byte) {
	var h headPayload
	_ = json.Unmarshal(payload, &h)
	s.mu.Lock()
	v := s.seen[other.Name]
	if v == nil {
		v = &memberView{state: "alive"}
		s.seen[other.Name] = v
	}
	v.rtt, v.lastSeen = rtt, time.Now()
	if v.state == "suspect" {
		v.state = "alive"
	}
	if len(payload) > 0 {
		v.size, v.root = h.Size, h.Root
	}
	s.mu.Unlock()
}

// suspect marks a node this node's probe failed: memberlist has no event
// for it, only this log line ("Suspect NAME has failed, no acks
// received"). A later successful probe or alive message clears it.
func (s *swim) suspect(name string) {
	s.r.n.suspicions.Add(1)
	s.mu.Lock()
	if v := s.seen[name]; v != nil && v.state == "alive" {
		v.state = "suspect"
	}
	s.mu.Unlock()
}

// swimLog takes memberlist's log lines: to slog (debug), and the failed
// probes to suspect.
type swimLog struct {
	s   *swim
	log *slog.Logger
}

var suspectLine = regexp.MustCompile(`memberlist: Suspect (\S+) has failed`)

func (l *swimLog) Write(b []byte) (int, error) {
	line := strings.TrimSpace(string(b))
	if m := suspectLine.FindStringSubmatch(line); m != nil {
		l.s.suspect(m[1])
	}
	l.log.Debug(line)
	return len(b), nil
}

// Views.

// view is membership as the delegates reported it (memberlist's Members
// hands out nodes it goes on mutating, so it is not read).
func (s *swim) view() map[string]memberView {
	out := map[string]memberView{}
	s.mu.Lock()
	for id, v := range s.seen {
		out[id] = *v
	}
	s.mu.Unlock()
	return out
}

func (s *swim) addrs() map[string]string {
	out := map[string]string{}
	s.mu.Lock()
	for id, v := range s.seen {
		if v.addr != "" && (v.state == "alive" || v.state == "suspect") {
			out[id] = v.addr
		}
	}
	s.mu.Unlock()
	return out
}

func (s *swim) alive(node string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.seen[node]
	if v == nil || v.addr == "" || (v.state != "alive" && v.state != "suspect") {
		return "", false
	}
	return v.addr, true
}

func (s *swim) numAlive() int { return s.ml.NumMembers() }

func (s *swim) join(addrs []string) (int, error)  { return s.ml.Join(addrs) }
func (s *swim) leave(timeout time.Duration) error { return s.ml.Leave(timeout) }

// shutdown stops memberlist, then its senders (after they drained their
// queues, within drainTimeout).
func (s *swim) shutdown() error {
	err := s.ml.Shutdown()
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		for _, q := range s.queues {
			close(q)
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}
